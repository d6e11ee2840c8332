"""/doc/ throughput at 32 connections: kazdata vs Oxigraph DESCRIBE vs nginx static files.

- kazdata: ``kazdata serve`` (gunicorn, default workers and threads), GET /doc/{kind}/{slug}
  with Accept: text/turtle, rotating over a sample of entities (one per kind, then more);
- Oxigraph: ``oxigraph serve-read-only --union-default-graph`` on the release's N-Quads,
  GET /query?query=DESCRIBE <iri> with Accept: text/turtle, for the same entities;
- nginx: the same Turtle document bytes, exported from the release as static files.

wrk -t2 -c32 for ``--duration`` seconds each, after a 2 s warm-up, in ``--rounds`` rounds
(default 2: kazdata, Oxigraph, nginx, then nginx, Oxigraph, kazdata); figures are medians of
the rounds (with two rounds, their mean). The documents are not the same bytes: kazdata's
precomputed document holds more than Oxigraph's DESCRIBE (the concise bounded description of
the subject), which is why bytes per response (headers included) are printed too.

    python bench/dereference.py [--release DIR] [--duration S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import common as c

TURTLE = {"Accept": "text/turtle"}
AIM_RATIO = 0.5
AIM_P99_MS = 20.0


def _load(server, base: str, paths: list[str], *, duration: int, connections: int, label: str) -> dict:
    started = time.perf_counter()
    with server:
        c.check_urls(base, paths, TURTLE, "text/turtle")
        c.warm_up(base, paths, TURTLE)
        result = c.wrk(base, paths, TURTLE, connections=connections, duration=duration, label=label)
    c.emit(f"  {label}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
           f"p99 {result['p99_ms']:.2f} ms ({time.perf_counter() - started:.0f} s)")
    return result


def run(release: Path, *, duration: int = 10, connections: int = 32, workers: int | None = None,
        threads: int | None = None, rounds: int = 2) -> dict:
    workers = workers or c.default_workers()
    threads = threads or c.default_threads()
    entities = c.sample_entities(release)
    c.emit(f"\n== dereference: wrk -t2 -c{connections} -d{duration}s over {len(entities)} entities "
           f"({', '.join(e['path'] for e in entities)}), {rounds} round(s) ==")
    meter = c.CpuMeter()
    runs: dict[str, list[dict]] = {"kazdata": [], "oxigraph": [], "nginx": []}
    with tempfile.TemporaryDirectory(prefix="bench-deref-") as tmp:
        tmp = Path(tmp)
        location = c.oxigraph_store(release, tmp / "oxigraph")
        for name in c.abba(list(runs), rounds):
            if name == "kazdata":
                server, base = c.kazdata_server(release, workers=workers, threads=threads)
                paths = [f"/doc/{e['path']}" for e in entities]
                label = f"kazdata (gunicorn {workers}x{threads})"
            elif name == "oxigraph":
                server, base = c.oxigraph_server(location)
                paths = ["/query?query=" + quote(f"DESCRIBE <{e['iri']}>") for e in entities]
                label = "oxigraph DESCRIBE"
            else:
                server, base = c.nginx_server(release, tmp / f"nginx-{len(runs['nginx'])}")
                paths = [f"/doc/{e['path']}.ttl" for e in entities]
                label = "nginx static .ttl"
            runs[name].append(_load(server, base, paths, duration=duration, connections=connections,
                                    label=label))
    results = {name: c.combine(values) for name, values in runs.items()}
    k, o, n = results["kazdata"], results["oxigraph"], results["nginx"]
    rows = [[name, r["rps"], r["p50_ms"], r["p99_ms"], r["bytes_per_req"], r["errors"] + r["non_2xx"],
             c.ratio(k["rps"], r["rps"])]
            for name, r in (("kazdata /doc/ (gunicorn)", k), ("oxigraph DESCRIBE", o), ("nginx static .ttl", n))]
    c.emit()
    c.emit(c.table(["server", "req/s", "p50 ms", "p99 ms", "bytes/resp", "errors+non-2xx",
                    "kazdata req/s ÷ this"], rows,
                   title=f"/doc/ dereferencing, {connections} connections (median of {rounds} round(s))"))
    c.emit()
    c.emit(c.table(["server", "round", "req/s", "p50 ms", "p99 ms"],
                   [[name, i, r["rps"], r["p50_ms"], r["p99_ms"]]
                    for name, values in runs.items() for i, r in enumerate(values, 1)], title="Per round"))
    kazdata_vs_oxigraph = c.ratio(k["rps"], o["rps"])
    kazdata_vs_nginx = c.ratio(k["rps"], n["rps"])
    met_ratio = kazdata_vs_oxigraph >= AIM_RATIO
    met_p99 = k["p99_ms"] < AIM_P99_MS
    c.emit(f"kazdata/oxigraph req/s = {kazdata_vs_oxigraph:.2f}x (aim >= {AIM_RATIO}x: "
           f"{'met' if met_ratio else 'MISSED'}); kazdata p99 = {k['p99_ms']:.1f} ms (aim < {AIM_P99_MS:g} ms: "
           f"{'met' if met_p99 else 'MISSED'}); kazdata/nginx req/s = {kazdata_vs_nginx:.3f}x")
    c.emit(f"machine during this part: {meter.describe()}")
    return {"cpu": meter.read(), "results": results, "runs": runs, "rounds": rounds,
            "kazdata_vs_oxigraph": kazdata_vs_oxigraph,
            "kazdata_vs_nginx": kazdata_vs_nginx,
            "aim_ratio_met": met_ratio, "aim_p99_met": met_p99, "workers": workers, "threads": threads,
            "entities": [e["path"] for e in entities]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--rounds", type=int, default=2, help="rounds, in A B C / C B A order")
    args = parser.parse_args(argv)
    with c.release_dir(args.release) as release:
        results = run(release, duration=args.duration, connections=args.connections,
                      workers=args.workers, threads=args.threads, rounds=args.rounds)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
