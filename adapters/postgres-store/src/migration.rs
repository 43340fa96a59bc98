//! The decision store's schema, as sea-orm migrations applied at start-up. A
//! database made by an earlier release is migrated in place, its rows kept.

use sea_orm_migration::prelude::*;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::connection::Connection;
use crate::settings::PostgresStoreSettings;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateDecisionLog),
            Box::new(PartitionedAppendOnly),
            Box::new(MonitoringTallies),
            Box::new(TallyDeltas),
            Box::new(PartitionsOnDemand),
            Box::new(ModelRouting),
        ]
    }
}

/// Brings the schema up to date, in one transaction on a connection of its
/// own: moving a large store may take longer than any request-sized statement
/// bound. Replicas starting together take turns on an advisory lock; the
/// later ones find the work done. One transaction also keeps the migration
/// on one server connection behind a transaction pooler.
pub(crate) async fn migrate(
    settings: &PostgresStoreSettings,
    serving_role: Option<&str>,
) -> Result<(), String> {
    let failed = |error: DbErr| format!("cannot migrate the decision store: {error}");
    // No statement bound (zero): the migration takes what it takes.
    let admin = Connection::open(
        settings.owner_url.as_deref().unwrap_or(&settings.url),
        settings.pool_mode,
        1,
        settings.acquire_timeout,
        Duration::ZERO,
    )
    .await
    .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
    let transaction = admin.begin().await.map_err(failed)?;
    transaction
        .execute_unprepared(MIGRATION_LOCK)
        .await
        .map_err(failed)?;
    Migrator::up(&transaction, None).await.map_err(failed)?;
    if let Some(role) = serving_role {
        transaction
            .execute_unprepared(&grants_to(role))
            .await
            .map_err(failed)?;
    }
    transaction.commit().await.map_err(failed)?;
    let _ = admin.db.close().await;
    Ok(())
}

const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('credit-decisions: decision log migrations'))";

/// The role a connection serves as.
pub(crate) async fn current_user(connection: &Connection) -> Result<String, DbErr> {
    let rows = connection
        .query(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS role",
        ))
        .await?;
    rows.first()
        .ok_or_else(|| DbErr::Custom("no current user".to_owned()))?
        .try_get("", "role")
}

/// The first release's `decisions` table: one plain table, JSONB bodies.
pub struct CreateDecisionLog;

impl MigrationName for CreateDecisionLog {
    fn name(&self) -> &str {
        "m20261124_000001_create_decision_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDecisionLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE decisions (
                    decision_id            uuid PRIMARY KEY,
                    seq                    bigint GENERATED ALWAYS AS IDENTITY,
                    created_at             timestamptz NOT NULL,
                    source                 text NOT NULL CHECK (source IN ('model', 'cache')),
                    model_version          text NOT NULL,
                    decision               text NOT NULL CHECK (decision IN ('approve', 'decline')),
                    probability_of_default double precision NOT NULL,
                    request                jsonb NOT NULL,
                    response               jsonb NOT NULL
                );
                CREATE UNIQUE INDEX decisions_seq ON decisions (seq);
                CREATE INDEX decisions_created_at ON decisions (created_at);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE decisions")
            .await?;
        Ok(())
    }
}

/// The store partitioned by month of `created_at` (so retention drops whole
/// months), append-only in the database itself (a trigger refuses UPDATE,
/// DELETE and TRUNCATE), with the bodies as `json`: the text exactly as
/// logged. The first release's rows are moved over, in their order.
pub struct PartitionedAppendOnly;

impl MigrationName for PartitionedAppendOnly {
    fn name(&self) -> &str {
        "m20261125_000002_partitioned_append_only"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PartitionedAppendOnly {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE decisions RENAME TO decisions_v1;
                ALTER INDEX decisions_seq RENAME TO decisions_v1_seq;
                ALTER INDEX decisions_created_at RENAME TO decisions_v1_created_at;

                -- The order rows were logged in, across every partition.
                CREATE SEQUENCE decisions_seq AS bigint;

                CREATE TABLE decisions (
                    seq                    bigint NOT NULL DEFAULT nextval('decisions_seq'),
                    decision_id            uuid NOT NULL,
                    created_at             timestamptz NOT NULL,
                    source                 text NOT NULL CHECK (source IN ('model', 'cache')),
                    model_version          text NOT NULL,
                    decision               text NOT NULL CHECK (decision IN ('approve', 'decline')),
                    probability_of_default double precision NOT NULL,
                    request                json NOT NULL,
                    response               json NOT NULL,
                    PRIMARY KEY (decision_id, created_at)
                ) PARTITION BY RANGE (created_at);
                ALTER SEQUENCE decisions_seq OWNED BY decisions.seq;
                CREATE INDEX decisions_by_seq ON decisions (seq);

                CREATE FUNCTION decisions_are_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the decision log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
                        USING ERRCODE = 'insufficient_privilege';
                END
                $$;
                CREATE TRIGGER decisions_append_only
                    BEFORE UPDATE OR DELETE ON decisions
                    FOR EACH ROW EXECUTE FUNCTION decisions_are_append_only();
                CREATE TRIGGER decisions_no_truncate
                    BEFORE TRUNCATE ON decisions
                    FOR EACH STATEMENT EXECUTE FUNCTION decisions_are_append_only();

                -- Creates the month's partition, append-only too, unless it exists.
                CREATE FUNCTION decisions_create_partition(day timestamptz) RETURNS void
                LANGUAGE plpgsql AS $$
                DECLARE
                    first_day timestamp := date_trunc('month', day AT TIME ZONE 'UTC');
                    name text := 'decisions_' || to_char(first_day, 'YYYY_MM');
                BEGIN
                    IF to_regclass(name) IS NULL THEN
                        EXECUTE format(
                            'CREATE TABLE %I PARTITION OF decisions FOR VALUES FROM (%L) TO (%L)',
                            name,
                            first_day AT TIME ZONE 'UTC',
                            (first_day + interval '1 month') AT TIME ZONE 'UTC');
                        EXECUTE format(
                            'CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON %I '
                            'FOR EACH STATEMENT EXECUTE FUNCTION decisions_are_append_only()',
                            name);
                    END IF;
                END
                $$;

                -- The first release's rows, in their order, in their months.
                SELECT decisions_create_partition(min(created_at))
                FROM decisions_v1 GROUP BY date_trunc('month', created_at AT TIME ZONE 'UTC');
                INSERT INTO decisions (seq, decision_id, created_at, source, model_version, decision,
                                       probability_of_default, request, response)
                SELECT seq, decision_id, created_at, source, model_version, decision,
                       probability_of_default, request::json, response::json
                FROM decisions_v1 ORDER BY seq;
                SELECT setval('decisions_seq', coalesce((SELECT max(seq) FROM decisions_v1), 0) + 1, false);
                DROP TABLE decisions_v1;
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the partitioned decision log is not migrated back".to_owned(),
        ))
    }
}

/// Monitoring: each row keeps the cells it counts in (`cells`, see
/// `domain::Cells`), and `decision_tally` adds them up per minute, model
/// version and writer, in the same statement that writes the rows. Each
/// writer of each process updates rows of its own `shard`, so concurrent
/// commits never wait for one another's row locks. The decisions already
/// logged are counted by outcome and source (their bins are unknown).
pub struct MonitoringTallies;

impl MigrationName for MonitoringTallies {
    fn name(&self) -> &str {
        "m20261125_000003_monitoring_tallies"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MonitoringTallies {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE decisions ADD COLUMN cells bytea;
                -- The rows at a window's edges are read by time.
                CREATE INDEX decisions_by_created_at ON decisions (created_at);

                CREATE TABLE decision_tally (
                    minute        timestamptz NOT NULL,
                    model_version text NOT NULL,
                    shard         smallint NOT NULL,
                    counts        bigint[] NOT NULL,
                    PRIMARY KEY (minute, model_version, shard)
                );

                -- Adds two tallies cell by cell; the shorter counts zero past its end.
                CREATE FUNCTION decisions_tally_add(a bigint[], b bigint[]) RETURNS bigint[]
                LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                    SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY n)
                    FROM unnest(a, b) WITH ORDINALITY AS cells (x, y, n)
                $$;

                -- Cells 0 to 3 of every tally: approve, decline, model, cache.
                INSERT INTO decision_tally (minute, model_version, shard, counts)
                SELECT date_trunc('minute', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                       model_version, 0,
                       ARRAY[count(*) FILTER (WHERE decision = 'approve'),
                             count(*) FILTER (WHERE decision = 'decline'),
                             count(*) FILTER (WHERE source = 'model'),
                             count(*) FILTER (WHERE source = 'cache')]
                FROM decisions GROUP BY 1, 2;
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE decision_tally;
                 DROP FUNCTION decisions_tally_add;
                 DROP INDEX decisions_by_created_at;
                 ALTER TABLE decisions DROP COLUMN cells;",
            )
            .await?;
        Ok(())
    }
}

/// Monitoring, made cheap to write: each commit inserts its tallies into
/// `decision_tally_delta` instead of adding them to a `decision_tally` row.
/// Adding to a row meant updating it: a new version of a 103-cell array on
/// every commit, and rows updated thousands of times a second, which cost
/// PostgreSQL more than the rows themselves. A background fold moves the deltas into `decision_tally` every
/// second, in one transaction, so a report that reads both tables in one
/// statement counts every delta exactly once. The deltas' rows die within
/// seconds, so the table is vacuumed by a dead-row count, not a fraction.
pub struct TallyDeltas;

/// Going back, the deltas not yet folded are added to the per-minute rows.
const FOLD_ALL_DELTAS: &str = "
    WITH moved AS (
        DELETE FROM decision_tally_delta RETURNING minute, model_version, counts
    ), cells AS (
        SELECT minute, model_version, cell, sum(count)::bigint AS count
        FROM moved, unnest(counts) WITH ORDINALITY AS c (count, cell)
        GROUP BY minute, model_version, cell
    )
    INSERT INTO decision_tally (minute, model_version, shard, counts)
    SELECT minute, model_version, 0, array_agg(count ORDER BY cell)
    FROM cells GROUP BY minute, model_version
    ON CONFLICT (minute, model_version, shard)
    DO UPDATE SET counts = decisions_tally_add(decision_tally.counts, excluded.counts)";

impl MigrationName for TallyDeltas {
    fn name(&self) -> &str {
        "m20261202_000004_tally_deltas"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for TallyDeltas {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE decision_tally_delta (
                    minute        timestamptz NOT NULL,
                    model_version text NOT NULL,
                    counts        bigint[] NOT NULL
                ) WITH (autovacuum_vacuum_scale_factor = 0,
                        autovacuum_vacuum_threshold = 10000,
                        autovacuum_vacuum_insert_scale_factor = 0,
                        autovacuum_vacuum_insert_threshold = 10000);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(FOLD_ALL_DELTAS)
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE decision_tally_delta;")
            .await?;
        Ok(())
    }
}

/// A month without its partition (dropped by hand, or never made because
/// the service was down when it began) must not refuse decisions: an insert
/// that finds none makes it and tries again. The role the service serves
/// with may own nothing (`CREDIT_DECISIONS_DATABASE_OWNER_URL`), so it
/// makes partitions through a function that runs as the schema's owner and
/// makes only the current month's or a later one's, at most a year ahead:
/// never a month whose rows could have been dropped.
pub struct PartitionsOnDemand;

impl MigrationName for PartitionsOnDemand {
    fn name(&self) -> &str {
        "m20261207_000005_partitions_on_demand"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PartitionsOnDemand {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE FUNCTION decisions_make_partition(day timestamptz) RETURNS void
                LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
                DECLARE
                    this_month timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
                BEGIN
                    IF day < this_month OR day >= this_month + interval '13 months' THEN
                        RAISE EXCEPTION 'only this month''s partition or a later one (within a year) is made on demand, not %', day
                            USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    PERFORM decisions_create_partition(day);
                END
                $$;
                -- Only the roles the service grants it to may call it.
                REVOKE ALL ON FUNCTION decisions_make_partition(timestamptz) FROM PUBLIC;
                REVOKE ALL ON FUNCTION decisions_create_partition(timestamptz) FROM PUBLIC;
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP FUNCTION decisions_make_partition(timestamptz);")
            .await?;
        Ok(())
    }
}

/// Models: each decision keeps the routing arm that decided it and a
/// shadow challenger's verdict; the monitoring tallies are kept per role
/// (the champion's decisions, the challenger's, the shadow's verdicts); the
/// routing's history is a table of its own, append-only like the
/// decisions. Rows logged before read back with `champion` and no shadow.
pub struct ModelRouting;

impl MigrationName for ModelRouting {
    fn name(&self) -> &str {
        "m20261207_000006_model_routing"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ModelRouting {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                ALTER TABLE decisions
                    ADD COLUMN arm text NOT NULL DEFAULT 'champion'
                        CHECK (arm IN ('champion', 'challenger')),
                    ADD COLUMN shadow json;

                ALTER TABLE decision_tally ADD COLUMN role text NOT NULL DEFAULT 'champion'
                    CHECK (role IN ('champion', 'challenger', 'shadow'));
                ALTER TABLE decision_tally DROP CONSTRAINT decision_tally_pkey;
                ALTER TABLE decision_tally ADD PRIMARY KEY (minute, model_version, role, shard);
                ALTER TABLE decision_tally_delta ADD COLUMN role text NOT NULL DEFAULT 'champion';

                CREATE TABLE routing_changes (
                    generation         bigint PRIMARY KEY CHECK (generation > 0),
                    changed_at         timestamptz NOT NULL,
                    by                 text NOT NULL,
                    champion           text NOT NULL,
                    challenger_version text,
                    challenger_mode    text CHECK (challenger_mode IN ('shadow', 'split')),
                    challenger_share   double precision
                        CHECK (challenger_share > 0 AND challenger_share <= 1),
                    reason             text NOT NULL,
                    CHECK ((challenger_version IS NULL) = (challenger_mode IS NULL)
                           AND (challenger_mode IS NULL) = (challenger_share IS NULL))
                );
                CREATE TRIGGER routing_changes_append_only
                    BEFORE UPDATE OR DELETE ON routing_changes
                    FOR EACH ROW EXECUTE FUNCTION decisions_are_append_only();
                CREATE TRIGGER routing_changes_no_truncate
                    BEFORE TRUNCATE ON routing_changes
                    FOR EACH STATEMENT EXECUTE FUNCTION decisions_are_append_only();
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the routing's history is not migrated back".to_owned(),
        ))
    }
}

/// What the role that serves needs when another role owns the schema, and
/// nothing more: to write and read decisions and their monitoring deltas,
/// to read the folded tallies, and to make a missing month's partition
/// through `decisions_make_partition`, and to read and add routing changes.
/// It cannot update, delete, alter,
/// drop, detach or change a trigger: all of that is the owner's. Granted at
/// every start, so that a new serving role is set up by starting the service.
pub fn grants_to(role: &str) -> String {
    let role = quoted_identifier(role);
    format!(
        "GRANT SELECT, INSERT ON decisions TO {role};
         GRANT USAGE ON SEQUENCE decisions_seq TO {role};
         GRANT SELECT, INSERT ON decision_tally_delta TO {role};
         GRANT SELECT ON decision_tally TO {role};
         GRANT EXECUTE ON FUNCTION decisions_make_partition(timestamptz) TO {role};
         GRANT SELECT, INSERT ON routing_changes TO {role};"
    )
}

/// `name` as an SQL identifier, whatever it holds.
fn quoted_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_name_is_quoted_whatever_it_holds() {
        assert_eq!(quoted_identifier("app"), "\"app\"");
        assert_eq!(
            quoted_identifier("a\"; DROP TABLE decisions; --"),
            "\"a\"\"; DROP TABLE decisions; --\""
        );
        assert!(grants_to("app").contains("GRANT SELECT, INSERT ON decisions TO \"app\";"));
    }
}
