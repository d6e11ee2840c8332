"""The production-server choice, measured: the same kazdata app under gunicorn and under granian.

Both are started exactly as deployed, ``kazdata serve --server gunicorn`` (gthread, preload) and
``kazdata serve --server granian`` (its WSGI interface), with the same number of worker
processes and threads, and the same query processes beside them. Each server
gets wrk -t2 -c32 for ``--duration`` seconds on /doc/ (Turtle, rotating over entities) and on
a cheap SPARQL GET. Rounds alternate the order (``--rounds 2``, the default: gunicorn,
granian, granian, gunicorn) and the figures are the median of the rounds (with two, the mean).

    python bench/servers.py [--release DIR] [--workers N] [--threads T] [--duration S]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from urllib.parse import quote

import common as c

TURTLE = {"Accept": "text/turtle"}
JSON = {"Accept": "application/sparql-results+json"}


def _measure(server, base: str, doc_paths: list[str], sparql_path: str, *, duration: int,
             connections: int) -> dict:
    with server:
        c.check_urls(base, doc_paths, TURTLE, "text/turtle")
        c.check_urls(base, [sparql_path], JSON, "application/sparql-results+json")
        c.warm_up(base, doc_paths, TURTLE)
        c.warm_up(base, [sparql_path], JSON)
        doc = c.wrk(base, doc_paths, TURTLE, connections=connections, duration=duration, label="doc")
        sparql = c.wrk(base, [sparql_path], JSON, connections=connections, duration=duration, label="sparql")
    return {"doc": doc, "sparql": sparql}


def run(release: Path, *, workers: int | None = None, threads: int | None = None,
        duration: int = 10, connections: int = 32, rounds: int = 2) -> dict:
    workers = workers or c.default_workers()
    threads = threads or c.default_threads()
    entities = c.sample_entities(release)
    doc_paths = [f"/doc/{e['path']}" for e in entities]
    sparql_path = "/sparql?query=" + quote(c.cheap_query(release))
    c.emit(f"\n== servers: kazdata serve under gunicorn and under granian, {workers} workers x "
           f"{threads} threads, wrk -t2 -c{connections} -d{duration}s, {rounds} round(s) ==")
    c.emit(f"/doc/: {len(doc_paths)} entities rotated, Accept: text/turtle; "
           f"SPARQL: GET {c.cheap_query(release)}")
    meter = c.CpuMeter()
    schedule = c.abba(["gunicorn", "granian"], rounds)
    runs: dict[str, list[dict]] = {"gunicorn": [], "granian": []}
    for name in schedule:
        started = time.perf_counter()
        server, base = c.kazdata_server(release, workers=workers, threads=threads, server=name)
        result = _measure(server, base, doc_paths, sparql_path, duration=duration, connections=connections)
        runs[name].append(result)
        c.emit(f"  {name}: /doc/ {result['doc']['rps']:.0f} req/s p99 {result['doc']['p99_ms']:.1f} ms; "
               f"sparql {result['sparql']['rps']:.0f} req/s p99 {result['sparql']['p99_ms']:.1f} ms "
               f"({time.perf_counter() - started:.0f} s)")
    summary = {name: {kind: c.combine([r[kind] for r in results]) for kind in ("doc", "sparql")}
               for name, results in runs.items()}
    rows = []
    for kind, label in (("doc", "/doc/ Turtle"), ("sparql", "cheap SPARQL GET")):
        g, r = summary["gunicorn"][kind], summary["granian"][kind]
        rows.append([label, g["rps"], r["rps"], c.ratio(r["rps"], g["rps"]),
                     g["p50_ms"], r["p50_ms"], g["p99_ms"], r["p99_ms"], c.ratio(r["p99_ms"], g["p99_ms"]),
                     f"{g['errors'] + g['non_2xx']}/{r['errors'] + r['non_2xx']}"])
    c.emit()
    c.emit(c.table(["workload", "gunicorn req/s", "granian req/s", "granian/gunicorn req/s",
                    "gunicorn p50 ms", "granian p50 ms", "gunicorn p99 ms", "granian p99 ms",
                    "granian/gunicorn p99", "errors+non-2xx g/r"], rows,
                   title=f"Production server (median of {rounds} round(s))"))
    per_round = []
    for name in ("gunicorn", "granian"):
        for i, result in enumerate(runs[name], 1):
            per_round.append([name, i, result["doc"]["rps"], result["doc"]["p99_ms"],
                              result["sparql"]["rps"], result["sparql"]["p99_ms"]])
    c.emit()
    c.emit(c.table(["server", "round", "/doc/ req/s", "/doc/ p99 ms", "sparql req/s", "sparql p99 ms"],
                   per_round, title="Per round"))
    c.emit(f"machine during this part: {meter.describe()}")
    return {"cpu": meter.read(), "workers": workers, "threads": threads, "duration": duration,
            "connections": connections,
            "rounds": rounds, "summary": summary, "runs": runs}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--workers", type=int, help="worker processes (default: kazdata's default)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: kazdata's default)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with c.release_dir(args.release) as release:
        results = run(release, workers=args.workers, threads=args.threads, duration=args.duration,
                      connections=args.connections, rounds=args.rounds)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
