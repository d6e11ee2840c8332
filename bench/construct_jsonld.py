"""What a CONSTRUCT answered as JSON-LD costs beside the same answer in Turtle, end to end.

    python bench/construct_jsonld.py [--scale 1e4] [--triples 10000] [--requests 5]

On one cached release of ``bench/scale.py`` it first times the two JSON-LD writers on the same
``--triples`` triples in this process (rdflib's compaction, which the entity documents use, and
pyoxigraph's writer), then starts ``kazdata serve`` and sends ``CONSTRUCT { ?s ?p ?o } WHERE
{ ?s ?p ?o } LIMIT n`` one request after another, asking for JSON-LD and for Turtle, and prints
the median seconds of each and their ratio. Issue 14 found JSON-LD at 0.83 s against 0.013 s for
the writer alone, spent in the web worker outside every time limit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c
from doc_rate import SCALE_CACHE

from kazdata.formats import Style, compact_jsonld, rdf_bytes


def writers(release: Path, count: int) -> None:
    triples = [q.triple for _, q in zip(range(count), ox.parse(path=str(release / "dumps" / "kazdata.nq"),
                                                                  format=ox.RdfFormat.N_QUADS), strict=False)]
    context = (release / "context.jsonld").read_text(encoding="utf-8")
    import json
    style = Style(prefixes={}, context=json.loads(context).get("@context", {}))
    for label, write in (("rdflib compaction", lambda: compact_jsonld(triples, style)),
                         ("pyoxigraph writer", lambda: rdf_bytes(triples, ox.RdfFormat.JSON_LD))):
        started = time.perf_counter()
        write()
        c.emit(f"  {label}: {time.perf_counter() - started:.3f} s for {len(triples)} triples")


def over_http(release: Path, count: int, requests_: int) -> None:
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }} LIMIT {count}"
    server, base = c.kazdata_server(release, workers=2)
    medians = {}
    with server:
        for accept in ("application/ld+json", "text/turtle"):
            times = []
            for _ in range(requests_):
                started = time.perf_counter()
                answer = requests.post(base + "/sparql", data={"query": query}, headers={"Accept": accept},
                                       timeout=120)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text[:200]
            medians[accept] = statistics.median(times)
            c.emit(f"  {accept}: median {medians[accept]:.3f} s over {requests_} requests")
    c.emit(f"  JSON-LD / Turtle: {medians['application/ld+json'] / medians['text/turtle']:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1e4")
    parser.add_argument("--triples", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args(argv)
    release = SCALE_CACHE / f"release-{args.scale}"
    c.emit(f"== CONSTRUCT as JSON-LD, {args.triples} triples, {release}; load average {c.loadavg()} ==")
    writers(release, args.triples)
    over_http(release, args.triples, args.requests)


if __name__ == "__main__":
    main()
