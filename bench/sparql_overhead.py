"""What one SPARQL request costs kazdata beyond the query: sequential latency on one connection.

    python bench/sparql_overhead.py [--scale 1e5] [--requests 300]

``bench/scale.py`` finds kazdata's millisecond queries 4-12x slower than Oxigraph's server while
heavy queries are on par: a fixed cost per request. This measures it alone. On one cached release
of ``bench/scale.py`` it starts ``kazdata serve`` (its defaults) and ``oxigraph serve-read-only
--union-default-graph`` (the peer), then sends requests one after another on one keep-alive
connection (``http.client``, so the client adds little) and prints the median and p99 of each:
kazdata's ``/doc/`` (no query: the floor of a request), ``ASK {}`` (a query that reads nothing),
a one-pattern SELECT and a SELECT of 100 rows, each beside Oxigraph answering the same query.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c
from doc_rate import SCALE_CACHE, doc_paths, oxigraph_location

JSON_RESULTS = {"Accept": "application/sparql-results+json"}
QUERIES = {
    "ASK {}": "ASK {}",
    "one pattern": "SELECT ?o WHERE { <{entity}> ?p ?o }",
    "100 rows": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 100",
}


def sequential_ms(base: str, path: str, headers: dict[str, str], count: int) -> list[float]:
    """Milliseconds per request, one after another on one connection."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    timings = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            timings.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{base}{path}: HTTP {response.status}")
    finally:
        connection.close()
    return timings[count // 10:]  # the first tenth warms caches and connections


def run(release: Path, count: int) -> list[list]:
    doc = doc_paths(release, 1)[0]
    entity = c.entity_index(release)[0]["iri"]
    kazdata, kazdata_base = c.kazdata_server(release, workers=c.default_workers())
    oxigraph, oxigraph_base = c.oxigraph_server(oxigraph_location(release))
    rows = []
    with kazdata, oxigraph:
        floor = sequential_ms(kazdata_base, doc, {"Accept": "text/turtle"}, count)
        rows.append(["kazdata /doc/ (no query)", c.median(floor), c.percentile(floor, 99), "", "", ""])
        for label, template in QUERIES.items():
            query = quote(template.replace("{entity}", entity))
            ours = sequential_ms(kazdata_base, f"/sparql?query={query}", JSON_RESULTS, count)
            peer = sequential_ms(oxigraph_base, f"/query?query={query}", JSON_RESULTS, count)
            rows.append([label, c.median(ours), c.percentile(ours, 99), c.median(peer),
                         f"{c.ratio(c.median(ours), c.median(peer)):.1f}x",
                         f"{c.median(ours) - c.median(floor):.2f}"])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1e5", help="a cached release of bench/scale.py: 1e4, 1e5 or 1e6")
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    args = parser.parse_args(argv)
    release = SCALE_CACHE / f"release-{args.scale}"
    if not (release / "SHA256SUMS").is_file():
        parser.error(f"{release} is not a release (run `python bench/scale.py --build-only --scales {args.scale}`)")
    c.emit(f"== SPARQL per-request cost on {release}, {args.requests} sequential requests each, "
           f"load average {c.loadavg()} ==")
    rows = run(release.resolve(), args.requests)
    c.emit(c.table(["request", "kazdata median ms", "kazdata p99 ms", "Oxigraph median ms", "kazdata/Oxigraph",
                    "kazdata minus /doc/ ms"], rows))
    c.emit(f"load average at the end {c.loadavg()}")


if __name__ == "__main__":
    main()
