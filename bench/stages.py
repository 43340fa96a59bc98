#!/usr/bin/env python3
"""Folds `perf script` samples of the service into the stages of a decision.

    perf script -i perf.data | bench/stages.py REQUESTS CPU_US [STAGE]

Each sample is given to the innermost frame of its call chain that names a
specific stage (an allocator at the leaf is "allocation" wherever it is
called from; the model's frames under `explain` are "reasons"); a sample in
none of them goes to the innermost generic one (the flow, waiting for the
log, the runtime), else to "other". Prints each stage's share
of the process's samples and, with REQUESTS and the process's CPU time per
request (CPU_US), its microseconds per request. With STAGE, also the leaf
functions that stage's samples were in, most first: where to look next.
"""
import re
import sys
from collections import Counter

# (stage, pattern over a frame's symbol); the first pattern that matches a
# frame names it, and the innermost named frame wins.
STAGES = [
    ("HTTP read and parse", r"actix_http::h1::(codec|decoder)|poll_request|httparse|BoundedStream.*poll_read|read_buf"),
    ("JSON to Application", r"strict_json|Application::from_json|http::body::read_object|parse_batch"),
    ("canonical bytes and key", r"CanonicalRequest::of|CacheKey|sha2::|domain::flow::Row::new"),
    ("cache read", r"DecisionCache>::read|RedisDecisionCache::fetch|near_cache|UntrustedVerdict|ModelInfo::check"),
    ("reasons", r"explain"),
    ("model score", r"Scorer>::score|OnnxScorer::run|tract_"),
    ("cache write", r"DecisionCache>::write|stored_value"),
    ("tally cells", r"Baseline::(shadow_)?cells|monitoring::cells|Cells::"),
    ("log row encoding", r"postgres_store::rows|PgArguments|Encode<|bind_iter|PgArgumentBuffer"),
    ("log commit (writer task)", r"postgres_store::(writer|group_commit)|sqlx_postgres|sqlx_core|sea_orm"),
    ("log append wait", r"DecisionStore>::append|committing"),
    ("answer serialisation", r"HttpResponseBuilder::json|Serialize for domain|serde_json::ser"),
    ("answer write", r"InnerDispatcher.*(poll_flush|send_response)|h1::encoder|BoundedStream.*poll_write"),
    ("Redis client (fred tasks)", r"^fred::|<fred::"),
    ("metrics and logs", r"prometheus|app::metrics|observe|tracing_subscriber|record_served"),
]
# Stages that enclose others: named only when no specific stage is.
GENERIC = [
    ("flow bookkeeping", r"domain::flow"),
    ("runtime and scheduling", r"tokio::|actix_rt|actix_server|actix_http|epoll|mio::"),
]
ALLOCATOR = re.compile(r"^(_?mi_|__rust_(alloc|dealloc|realloc)|malloc|free|__libc_(malloc|free)|_mi_)")
COMPILED = [(name, re.compile(pattern)) for name, pattern in STAGES]
COMPILED_GENERIC = [(name, re.compile(pattern)) for name, pattern in GENERIC]
EXPLAIN = re.compile(r"OnnxScorer.*explain")


def frames(sample):
    """The symbols of a sample's call chain, leaf first."""
    out = []
    for line in sample[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            symbol = re.sub(r"\+0x[0-9a-f]+ \(.*\)$|\s\(.*\)$", "", parts[1])
            out.append(symbol)
    return out


def innermost(chain, compiled):
    for symbol in chain:
        for name, pattern in compiled:
            if pattern.search(symbol):
                return name
    return None


def stage_of(chain):
    if chain and ALLOCATOR.search(chain[0]):
        return "allocation"
    stage = innermost(chain, COMPILED)
    if stage == "model score" and any(EXPLAIN.search(symbol) for symbol in chain):
        return "reasons"
    return stage or innermost(chain, COMPILED_GENERIC) or "other"


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cpu_us = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    looked_at = sys.argv[3] if len(sys.argv) > 3 else None
    counts = Counter()
    leaves = Counter()

    def count(sample):
        chain = frames(sample)
        stage = stage_of(chain)
        counts[stage] += 1
        if stage == looked_at and chain:
            leaves[chain[0][:120]] += 1

    sample = []
    for line in sys.stdin:
        if line.strip() == "":
            if sample:
                count(sample)
            sample = []
        else:
            sample.append(line)
    if sample:
        count(sample)
    total = sum(counts.values())
    print(f"{total} samples" + (f", {requests} requests, {cpu_us:.1f} µs of CPU each" if requests else ""))
    order = [name for name, _ in STAGES + GENERIC] + ["allocation", "other"]
    for name in sorted(order, key=lambda n: -counts[n]):
        if counts[name] == 0:
            continue
        share = counts[name] / total
        us = f"{share * cpu_us:7.1f} µs" if cpu_us else ""
        print(f"| {name} | {100 * share:5.1f}% | {us} |")
    for leaf, n in leaves.most_common(15):
        print(f"{n:6d}  {leaf}")


if __name__ == "__main__":
    main()
