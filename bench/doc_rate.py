"""The ``/doc/`` aim, measured alone: kazdata's requests/s against Oxigraph's ``DESCRIBE``, same run.

    python bench/doc_rate.py [--scale 1e5] [--servers gunicorn,granian,granian:4] [--seconds 10] [--rounds 2]

Issue 5 asks for kazdata's Python server at at least 0.5x the requests/s of Oxigraph's own
server answering ``DESCRIBE`` (the dereferencing equivalent), with a p99 under 20 ms, at 32
concurrent clients (wrk -t2 -c32). This starts, on one cached release of ``bench/scale.py``
(``kazdata-bench-scale/release-{scale}`` in the temp folder, or ``--release``), ``kazdata serve`` under each
server named and ``oxigraph serve-read-only`` on a store loaded from the release's N-Quads (kept
under ``kazdata-doc-rate`` in the temp folder), then runs wrk on each in turn, the order reversed every other
round. kazdata gets ``GET /doc/{kind}/{slug}`` with ``Accept: text/turtle`` rotating over 200
entities; Oxigraph gets ``DESCRIBE <{base}id/{kind}/{slug}>`` over the same entities. Figures
are the median of the rounds; the ratio column is kazdata's req/s over Oxigraph's in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c

from kazdata.settings import load_settings

SCALE_CACHE = Path(tempfile.gettempdir()) / "kazdata-bench-scale"
STORES = Path(tempfile.gettempdir()) / "kazdata-doc-rate"
TURTLE = {"Accept": "text/turtle"}
AIM_RATIO, AIM_P99_MS = 0.5, 20.0


def doc_paths(release: Path, count: int = 200) -> list[str]:
    """The same spread of entities as ``bench/scale.py``: every n-th entry of the index."""
    entities = c.entity_index(release)
    step = max(1, len(entities) // count)
    return [f"/doc/{e['path']}" for e in entities[::step]][:count]


def describe_paths(release: Path, paths: list[str]) -> list[str]:
    base = json.loads((release / "docs" / "release.json").read_text(encoding="utf-8"))["base"]
    return ["/query?query=" + quote(f"DESCRIBE <{base}id/{p[len('/doc/'):]}>") for p in paths]


def oxigraph_location(release: Path) -> Path:
    """A store loaded from the release's N-Quads once per release (keyed by its dump checksum)."""
    digest = next(line.split()[0] for line in (release / "SHA256SUMS").read_text().splitlines()
                  if line.endswith("dumps/kazdata.nq"))[:12]
    location = STORES / f"oxigraph-{digest}"
    if not (location / ".loaded").exists():
        STORES.mkdir(parents=True, exist_ok=True)
        c.oxigraph_store(release, location)
        (location / ".loaded").touch()
    return location


def run(release: Path, servers: list[str], *, seconds: int, rounds: int, workers: int | None,
        connections: int = 32) -> dict:
    paths = doc_paths(release)
    describe = describe_paths(release, paths)
    running: dict[str, tuple] = {}
    shapes: dict[str, str] = {}
    for name in servers:  # "granian", "granian:4" (4 web workers), "granian:4x8" (8 threads each),
        server, _, shape = name.partition(":")  # "granian+log" (with --access-log to a file)
        server, logged, _ = server.partition("+log")
        count, _, threads = shape.partition("x")
        defaults = load_settings({"server": server}, environ={})  # that server's own defaults
        access = ("--access-log", str(Path(tempfile.mkdtemp(prefix="kazdata-access-")) / "access.log"))
        running[name] = c.kazdata_server(release, workers=int(count or workers or defaults.workers),
                                         threads=int(threads or defaults.threads), server=server,
                                         extra=access if logged else ())
        shapes[name] = f"{count or workers or defaults.workers}x{threads or defaults.threads}"
    running["oxigraph"] = c.oxigraph_server(oxigraph_location(release))
    load = {name: (describe if name == "oxigraph" else paths) for name in running}
    c.emit(f"== /doc/ rate: {', '.join(f'kazdata/{s}' for s in servers)} and Oxigraph DESCRIBE on {release} "
           f"({len(paths)} entities), wrk -t2 -c{connections} -d{seconds}s, {rounds} round(s); "
           f"load average {c.loadavg()} ==")
    meter = c.CpuMeter()
    runs: dict[str, list[dict]] = {name: [] for name in running}
    started = []
    try:
        for server, _base in running.values():
            server.__enter__()
            started.append(server)
        for name, (_server, base) in running.items():
            c.check_urls(base, load[name][:20], TURTLE, "text/turtle")
            c.warm_up(base, load[name], TURTLE)
        for name in c.abba(list(running), rounds):
            base = running[name][1]
            result = c.wrk(base, load[name], TURTLE, connections=connections, duration=seconds, label=name)
            runs[name].append(result)
            c.emit(f"  {name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                   f"p99 {result['p99_ms']:.1f} ms, errors+non-2xx {result['errors'] + result['non_2xx']} "
                   f"(load {c.loadavg()})")
    finally:
        for server in started:
            server.__exit__(None, None, None)
    summary = {name: c.combine(results) for name, results in runs.items()}
    peer = summary["oxigraph"]
    rows = []
    for name, figures in summary.items():
        label = "Oxigraph DESCRIBE (peer)" if name == "oxigraph" else f"kazdata /doc/ ({name.partition(':')[0]} {shapes[name]})"
        meets = "" if name == "oxigraph" else (
            "yes" if c.ratio(figures["rps"], peer["rps"]) >= AIM_RATIO and figures["p99_ms"] < AIM_P99_MS else "no")
        rows.append([label, figures["rps"], f"{c.ratio(figures['rps'], peer['rps']):.2f}x",
                     figures["p50_ms"], figures["p99_ms"], figures["errors"] + figures["non_2xx"], meets])
    c.emit()
    c.emit(c.table(["server", "req/s", "vs Oxigraph", "p50 ms", "p99 ms", "errors", "aim met"], rows,
                   title=f"/doc/ Turtle vs Oxigraph DESCRIBE, median of {rounds} round(s) "
                         f"(aim: >= {AIM_RATIO}x, p99 < {AIM_P99_MS:g} ms)"))
    c.emit(f"machine during this part: {meter.describe()}; load average at the end {c.loadavg()}")
    return {"release": str(release), "summary": summary, "runs": runs, "cpu": meter.read(),
            "workers": workers, "seconds": seconds, "rounds": rounds}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1e5", help="a cached release of bench/scale.py: 1e4, 1e5 or 1e6")
    parser.add_argument("--release", help="another release directory instead")
    parser.add_argument("--servers", default="gunicorn,granian",
                        help="kazdata serve --server values to measure, each optionally with its worker count "
                             "(granian:4) and threads (granian:4x8); granian+log writes an access log to a file")
    parser.add_argument("--workers", type=int, help="web workers (default: kazdata's default)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    release = Path(args.release) if args.release else SCALE_CACHE / f"release-{args.scale}"
    if not (release / "SHA256SUMS").is_file():
        parser.error(f"{release} is not a release (run `python bench/scale.py --build-only --scales {args.scale}`)")
    results = run(release.resolve(), [s for s in args.servers.split(",") if s], seconds=args.seconds,
                  rounds=args.rounds, workers=args.workers)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
