"""Where an example query's time goes in kazdata, stage by stage, beside Oxigraph's server.

    python bench/sparql_stages.py [--release DIR] [--runs 30]

For each example query (release/queries/*.rq, then ``ASK {}``) six ways of running it, taking
turns run by run so that the machine's load falls on all alike, medians in ms:

- ``engine``: pyoxigraph in this process, the text with PREFIX lines, the union default graph,
  written as SPARQL JSON: the floor, what Oxigraph's server also does;
- ``evaluate``: ``kazdata.sparql.backends.embedded.evaluate`` in this process (the query check,
  remembered; the TSV cut at the result limit, read back and written as JSON);
- ``hand-off``: ``ProcessBackend.query`` to the query processes of a ``QueryService`` (the ticket,
  the supervisor, the query process, the answer read back), a kept connection;
- ``web worker``: the WSGI app in this process (``FastQueries``: the protocol, negotiation, the
  per-client count, the hand-off) with a GET of the query;
- ``kazdata HTTP``: the same GET to ``kazdata serve`` (granian) over a kept connection;
- ``oxigraph HTTP``: the text with PREFIX lines to ``oxigraph serve-read-only --union-default-graph``.

The differences between neighbouring columns are each stage's cost.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c

JSON = "application/sparql-results+json, text/turtle;q=0.9"
WAYS = ("engine", "evaluate", "hand-off", "web worker", "kazdata HTTP", "oxigraph HTTP")


def _timed(ways: dict, runs: int) -> list[float]:
    """The median ms of each way, taking turns run by run, after two unmeasured runs (every
    cache and query process has then seen the query)."""
    times: dict[str, list[float]] = {way: [] for way in ways}
    for number in range(runs + 2):
        for way, once in ways.items():
            started = time.perf_counter()
            once()
            if number >= 2:
                times[way].append((time.perf_counter() - started) * 1000)
    return [c.median(times[way]) for way in WAYS]


def _ways(text: str, kit: dict) -> dict:
    """The six ways of running ``text`` (``WAYS``), each a call without arguments."""
    import pyoxigraph as ox
    from werkzeug.test import EnvironBuilder

    from kazdata.sparql.backends.embedded import evaluate
    from kazdata.sparql.policy import QueryRequest
    full, limit = c.with_prefixes(text), kit["settings"].result_limit
    request = QueryRequest(text, results_format="srj")
    environ = EnvironBuilder(path="/sparql", query_string="query=" + quote(text), headers={"Accept": JSON}).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    app = kit["app"]

    def wsgi() -> bytes:
        return b"".join(app(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), lambda *_: None))

    return {
        "engine": lambda: kit["store"].query(full, use_default_graph_as_union=True).serialize(
            format=ox.QueryResultsFormat.JSON),
        "evaluate": lambda: evaluate(kit["store"], request, kit["rules"], limit),
        "hand-off": lambda: kit["backend"].query(request, limit=limit, timeout=10.0).read(),
        "web worker": wsgi,
        "kazdata HTTP": lambda: kit["kazdata"].get("/sparql?query=" + quote(text), {"Accept": JSON}),
        "oxigraph HTTP": lambda: kit["oxigraph"].get("/query?query=" + quote(full), {"Accept": JSON}),
    }


def run(release: Path, runs: int) -> list[list]:
    from kazdata.release.opened import open_release, release_stamp
    from kazdata.runtime.query_client import ProcessBackend
    from kazdata.runtime.query_service import QueryService
    from kazdata.settings import load_settings
    from kazdata.sparql.backends import open_backend
    from kazdata.web.app import create_app

    settings = load_settings({"release": release, "query_processes": 4}, environ={})
    in_process = open_backend(settings, open_release(release_stamp(release), "quick"))
    service = QueryService.start(settings)
    kit = {"settings": settings, "store": in_process.store, "rules": in_process.rules,
           "app": create_app(settings, query_socket=service.socket_path),
           "backend": ProcessBackend(service.socket_path)}
    rows: list[list] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
            location = c.oxigraph_store(release, Path(tmp) / "oxigraph")
            kazdata, kazdata_base = c.kazdata_server(release, workers=c.default_workers())
            oxigraph, oxigraph_base = c.oxigraph_server(location)
            with kazdata, oxigraph:
                kit["kazdata"], kit["oxigraph"] = c.HttpClient(kazdata_base), c.HttpClient(oxigraph_base)
                queries = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((release / "queries").glob("*.rq"))]
                for name, text in [*queries, ("ASK {}", "ASK {}")]:
                    medians = _timed(_ways(text, kit), runs)
                    rows.append([name, *(f"{m:.3f}" for m in medians),
                                 f"{medians[4] / medians[5]:.2f}x", f"{medians[4] - medians[5]:+.3f}"])
                kit["kazdata"].close()
                kit["oxigraph"].close()
    finally:
        service.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_common_args(parser)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with c.release_dir(args.release) as release:
        c.emit(f"== an example query's time, stage by stage, {args.runs} runs each, load average {c.loadavg()}")
        rows = run(release, args.runs)
        c.emit(c.table(["query", *(f"{way} ms" for way in WAYS), "kazdata/oxigraph", "kazdata − oxigraph ms"], rows))
        c.emit(f"load average after: {c.loadavg()}")


if __name__ == "__main__":
    main()
