"""The log's append statement as a pgbench script, with N rows of a logged
decision as literal arrays, and its tally written one of three ways:

    upsert  added to a decision_tally row (the previous release)
    delta   inserted into decision_tally_delta (this release)
    none    not written

    python3 scripts/bench/log-statement.py N upsert|delta|none > /tmp/append.sql
    pgbench -n -M prepared -c 4 -j 2 -T 6 -f /tmp/append.sql postgresql://…/db

The database must hold the service's schema (start the service on it once).
Colons are written as \\x3a inside the JSON, as pgbench reads `:name` as a
variable.
"""
import sys

rows, tally = int(sys.argv[1]), sys.argv[2]
request = ('{"checking_account":"below_0","duration_months":6,"credit_history":"critical_account",'
           '"purpose":"radio_television","credit_amount":1169,"savings":"unknown",'
           '"employment_since":"7_years_or_more","installment_rate":4,"other_debtors":"none",'
           '"residence_since":4,"property":"real_estate","age_years":67,'
           '"other_installment_plans":"none","housing":"own","existing_credits":2,"job":"skilled",'
           '"dependents":1,"telephone":true}')
response = ('{"decision_id":"01a235aa-8c4e-7371-953c-ef2f542a35d5","decision":"approve",'
            '"probability_of_default":0.057359546,"model_version":"german-credit-2026.11.0","reasons":[]}')
cells = "E'\\\\x0000020004000e0012001e0022002a0037003c004000410047004800550058005a005d00610063006600'"


def text(value):
    return "E'" + value.replace("'", "''").replace(":", "\\x3a") + "'"


def array(value, kind):
    return "ARRAY[" + ",".join([value] * rows) + "]::" + kind + "[]"


insert = f"""INSERT INTO decisions (decision_id, created_at, source, model_version, decision,
    probability_of_default, request, response, cells)
SELECT id, at, source, model_version, decision, probability, request::json, response::json, nullif(cells, '')
FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, {rows})), {array('now()', 'timestamptz')},
    {array(text('cache'), 'text')}, {array(text('german-credit-2026.11.0'), 'text')},
    {array(text('approve'), 'text')}, {array('0.0573', 'float8')}, {array(text(request), 'text')},
    {array(text(response), 'text')}, {array(cells, 'bytea')})
AS rows (id, at, source, model_version, decision, probability, request, response, cells)"""
counts = "ARRAY[" + ",".join(["1"] * 103) + "]::int8[]"
minute = "date_trunc('minute', now()), 'german-credit-2026.11.0'"
if tally == "upsert":
    # Each pgbench client its own row, as each writer had its own shard.
    statement = f"""WITH logged AS ({insert})
INSERT INTO decision_tally (minute, model_version, shard, counts)
SELECT {minute}, (:client_id)::smallint, {counts}
ON CONFLICT (minute, model_version, shard)
DO UPDATE SET counts = decisions_tally_add(decision_tally.counts, excluded.counts)"""
elif tally == "delta":
    statement = f"""WITH logged AS ({insert})
INSERT INTO decision_tally_delta (minute, model_version, counts) SELECT {minute}, {counts}"""
else:
    statement = insert
print(" ".join(statement.split()) + ";")
