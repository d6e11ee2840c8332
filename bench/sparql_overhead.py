"""What one SPARQL request costs kazdata beyond the query: sequential latency on one connection,
and throughput over 32 connections.

    python bench/sparql_overhead.py [--scale 1e5 | --release DIR] [--requests 300] [--seconds 5]

``bench/scale.py`` finds kazdata's millisecond queries 4-12x slower than Oxigraph's server while
heavy queries are on par: a fixed cost per request. This measures it alone. On one cached release
of ``bench/scale.py`` it starts ``kazdata serve`` (its defaults) and ``oxigraph serve-read-only
--union-default-graph`` (the peer), then sends requests one after another on one keep-alive
connection (``http.client``, so the client adds little) and prints the median and p99 of each:
kazdata's ``/doc/`` (no query: the floor of a request), ``ASK {}`` (a query that reads nothing),
a one-pattern SELECT and SELECTs of 100, 1,000 and 10,000 rows, each beside Oxigraph answering
the same query; then the per-row cost above Oxigraph's (the 1,000- and 10,000-row SELECTs,
divided by the rows each really returned); then ``wrk`` with 32 connections for ``--seconds``
on each light query, kazdata's requests per second over Oxigraph's (issue 20's aims).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c
from doc_rate import SCALE_CACHE, doc_paths, oxigraph_location

JSON_RESULTS = {"Accept": "application/sparql-results+json"}
#: issue 20's aims: rows cost at most this much more than Oxigraph's; req/s at least this share
AIM_PER_ROW_US = 2.0
AIM_RPS_SHARE = 0.67
QUERIES = {
    "ASK {}": "ASK {}",
    "one pattern": "SELECT ?o WHERE { <{entity}> ?p ?o }",
    "100 rows": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 100",
    "1,000 rows": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1000",
    "10,000 rows": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10000",
}
#: the light queries measured under 32 connections
CONCURRENT = ("ASK {}", "one pattern", "100 rows")


def sequential_ms(base: str, path: str, headers: dict[str, str], count: int) -> tuple[list[float], bytes]:
    """Milliseconds per request, one after another on one connection, and the last body."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    timings = []
    body = b""
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            timings.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{base}{path}: HTTP {response.status}")
    finally:
        connection.close()
    return timings[count // 10:], body  # the first tenth warms caches and connections


def _rows(body: bytes) -> int:
    results = json.loads(body)
    return len(results["results"]["bindings"]) if "results" in results else 1


def run(release: Path, count: int, seconds: int) -> tuple[list[list], list[list], list[list]]:
    doc = doc_paths(release, 1)[0]
    entity = c.entity_index(release)[0]["iri"]
    kazdata, kazdata_base = c.kazdata_server(release, workers=c.default_workers())
    oxigraph, oxigraph_base = c.oxigraph_server(oxigraph_location(release))
    rows, per_row, concurrent = [], [], []
    with kazdata, oxigraph:
        floor, _ = sequential_ms(kazdata_base, doc, {"Accept": "text/turtle"}, count)
        rows.append(["kazdata /doc/ (no query)", c.median(floor), c.percentile(floor, 99), "", "", "", "", ""])
        medians = {}
        for label, template in QUERIES.items():
            query = quote(template.replace("{entity}", entity))
            repeat = count if "000 rows" not in label else max(20, count // (10 if label.startswith("1,") else 50))
            ours, body = sequential_ms(kazdata_base, f"/sparql?query={query}", JSON_RESULTS, repeat)
            peer, peer_body = sequential_ms(oxigraph_base, f"/query?query={query}", JSON_RESULTS, repeat)
            if _rows(body) != _rows(peer_body):
                raise RuntimeError(f"{label}: kazdata answered {_rows(body)} rows, Oxigraph {_rows(peer_body)}")
            medians[label] = (c.median(ours), c.median(peer), _rows(body))
            rows.append([label, c.median(ours), c.percentile(ours, 99), c.median(peer),
                         f"{c.ratio(c.median(ours), c.median(peer)):.2f}x",
                         f"{c.median(ours) - c.median(peer):.3f}", f"{c.median(ours) - c.median(floor):.2f}",
                         _rows(body)])
        ask_ours, ask_peer, _ = medians["ASK {}"]
        for label in ("1,000 rows", "10,000 rows"):
            ours, peer, count_rows = medians[label]
            if count_rows > 100:
                above = ((ours - ask_ours) - (peer - ask_peer)) * 1000 / count_rows
                per_row.append([label, count_rows, f"{(ours - ask_ours) * 1000 / count_rows:.2f}",
                                f"{(peer - ask_peer) * 1000 / count_rows:.2f}", f"{above:.2f}",
                                "met" if above <= AIM_PER_ROW_US else "MISSED"])
        for label in CONCURRENT:
            query = quote(QUERIES[label].replace("{entity}", entity))
            ours = c.wrk(kazdata_base, [f"/sparql?query={query}"], JSON_RESULTS, duration=seconds,
                         label=f"kazdata {label}")
            peer = c.wrk(oxigraph_base, [f"/query?query={query}"], JSON_RESULTS, duration=seconds,
                         label=f"oxigraph {label}")
            share = c.ratio(ours["rps"], peer["rps"])
            concurrent.append([label, f"{ours['rps']:.0f}", f"{ours['p99_ms']:.1f}", f"{peer['rps']:.0f}",
                               f"{peer['p99_ms']:.1f}", f"{share:.2f}x", ours["errors"] + ours["non_2xx"],
                               "met" if share >= AIM_RPS_SHARE else "MISSED"])
    return rows, per_row, concurrent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1e5", help="a cached release of bench/scale.py: 1e4, 1e5 or 1e6")
    parser.add_argument("--release", help="a release folder instead (the bundled one has about 10^3 triples)")
    parser.add_argument("--requests", type=int, default=300, help="requests per light measurement")
    parser.add_argument("--seconds", type=int, default=5, help="length of each 32-connection wrk run")
    args = parser.parse_args(argv)
    release = Path(args.release) if args.release else SCALE_CACHE / f"release-{args.scale}"
    if not (release / "SHA256SUMS").is_file():
        parser.error(f"{release} is not a release (run `python bench/scale.py --build-only --scales {args.scale}`)")
    c.emit(f"== SPARQL per-request cost on {release}, {args.requests} sequential requests each, "
           f"load average {c.loadavg()} ==")
    rows, per_row, concurrent = run(release.resolve(), args.requests, args.seconds)
    c.emit(c.table(["request", "kazdata median ms", "kazdata p99 ms", "Oxigraph median ms", "kazdata/Oxigraph",
                    "kazdata minus Oxigraph ms", "kazdata minus /doc/ ms", "rows"], rows))
    c.emit(c.table(["SELECT", "rows", "kazdata us/row", "Oxigraph us/row", "kazdata above Oxigraph us/row",
                    f"aim <= {AIM_PER_ROW_US:g} us"], per_row))
    c.emit(c.table(["32 connections", "kazdata req/s", "kazdata p99 ms", "Oxigraph req/s", "Oxigraph p99 ms",
                    "kazdata/Oxigraph req/s", "kazdata errors", f"aim >= {AIM_RPS_SHARE}x"], concurrent))
    c.emit(f"load average at the end {c.loadavg()}")


if __name__ == "__main__":
    main()
