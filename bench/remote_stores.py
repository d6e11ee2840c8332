"""Loading and querying the remote stores at one scale, for ``bench/scale.py --remote-stores``.

Per store (an Oxigraph server started with ``--union-default-graph``, and OpenLink Virtuoso
started by ``tests/stores.py`` with a throw-away database):

- **load**: ``kazdata load`` (the Graph Store Protocol, one PUT per graph, staged and switched
  with one ``MOVE`` per graph; Virtuoso's with Digest authentication), timed with its progress lines, beside
  the store's own bulk loader on the same N-Quads dump into an empty store (``oxigraph load``,
  Virtuoso's ``ld_dir`` + ``rdf_loader_run``);
- **query**: the scale's queries through ``kazdata serve --backend remote`` in the portable form
  (every graph of the release sent as a ``default-graph-uri``) and with
  ``--union-default-graph true`` (nothing sent), beside ``--backend memory`` (embedded Oxigraph).

Bounded: each load and each query has a time cap; the servers are stopped by their process ids.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.stores

import common as c

from tests.stores import VIRTUOSO, VirtuosoServer

JSON_RESULTS = {"Accept": "application/sparql-results+json"}
LOAD_CAP_S = 3600


def timed_load(argv: list[str], env: dict | None = None) -> dict:
    """Run ``kazdata load``, echoing its progress lines; its wall time and per-graph lines."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip())
        c.emit("   " + line.rstrip())
    if process.wait(LOAD_CAP_S) != 0:
        raise RuntimeError("kazdata load failed:\n" + "\n".join(lines[-20:]))
    switch = [float(m) for line in lines for m in re.findall(r"the switch took ([\d.]+) s", line)]
    return {"seconds": time.perf_counter() - started, "graphs": sum("->" in line for line in lines),
            "switch_s": switch[0] if switch else 0.0}


def oxigraph_loads(release: Path, work: Path) -> tuple[dict, c.Server, str]:
    """Oxigraph's bulk loader into an empty folder, then ``kazdata load`` into a served store
    (left running for the queries): the figures, the server and its root URL."""
    dump = release / "dumps" / "kazdata.nq"
    bulk = work / "oxigraph-bulk"
    shutil.rmtree(bulk, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(["oxigraph", "load", "--location", str(bulk), "--file", str(dump)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=LOAD_CAP_S)
    bulk_s = time.perf_counter() - started
    c.emit(f" oxigraph load (bulk loader): {bulk_s:.1f} s")
    shutil.rmtree(bulk, ignore_errors=True)
    location = work / "oxigraph-served"
    shutil.rmtree(location, ignore_errors=True)
    port = c.free_port()
    root = f"http://{c.HOST}:{port}"
    server = c.Server("oxigraph", ["oxigraph", "serve", "--location", str(location), "--bind", f"{c.HOST}:{port}",
                                   "--union-default-graph"], root + "/query?query=" + quote("ASK {}"),
                      headers=JSON_RESULTS)
    server.__enter__()
    c.emit(" kazdata load -> Oxigraph (GSP, staged):")
    try:
        gsp = timed_load(["kazdata", "load", str(release), "--endpoint", root + "/store", "--update-endpoint",
                          root + "/update"])
    except BaseException:
        server.stop()
        raise
    return {"bulk_s": bulk_s, "gsp_s": gsp["seconds"], "switch_s": gsp["switch_s"], "graphs": gsp["graphs"]}, \
        server, root + "/query"


def virtuoso_loads(release: Path, work: Path, buffers: int) -> tuple[dict, VirtuosoServer]:
    """Virtuoso's bulk loader into one empty database, ``kazdata load`` into another (left
    running for the queries)."""
    dump = release / "dumps" / "kazdata.nq"
    bulk = VirtuosoServer.start(work / "virtuoso-bulk", c.free_port, buffers=buffers, query_seconds=600)
    try:
        started = time.perf_counter()
        bulk.bulk_load(dump)
        bulk_s = time.perf_counter() - started
        c.emit(f" Virtuoso ld_dir + rdf_loader_run (bulk loader): {bulk_s:.1f} s")
    finally:
        bulk.stop()
    shutil.rmtree(work / "virtuoso-bulk", ignore_errors=True)
    served = VirtuosoServer.start(work / "virtuoso-served", c.free_port, buffers=buffers, query_seconds=600)
    c.emit(" kazdata load -> Virtuoso (GSP with Digest, staged):")
    try:
        gsp = timed_load(["kazdata", "load", str(release), "--endpoint", served.graph_store, "--update-endpoint",
                          served.root + "/sparql-auth"], {"KAZDATA_STORE_CREDENTIALS": str(served.credentials)})
    except BaseException:
        served.stop()
        raise
    return {"bulk_s": bulk_s, "gsp_s": gsp["seconds"], "switch_s": gsp["switch_s"], "graphs": gsp["graphs"]}, served


def kazdata_queries(release: Path, argv_extra: list[str], queries: dict[str, str], runs: int, time_queries,
                    path_for, label: str) -> dict:
    port = c.free_port()
    base = f"http://{c.HOST}:{port}"
    argv = ["kazdata", "serve", "--release", str(release), "--host", c.HOST, "--port", str(port),
            "--query-timeout", "120", "--result-limit", "100000", *argv_extra]
    with c.Server(f"kazdata-{label}", argv, base + path_for("ASK {}"), headers=JSON_RESULTS, ready_timeout=600):
        return time_queries(base, path_for, queries, runs)


def measure(release: Path, work: Path, queries: dict[str, str], runs: int, time_queries, path_for,
            stores: list[str], buffers: int = 200_000) -> dict:
    """Load figures per store and query medians per (store, form), with the embedded store."""
    result: dict = {"loads": {}, "queries": {}}
    c.emit("-- kazdata --backend memory (embedded Oxigraph)")
    result["queries"]["embedded (memory)"] = kazdata_queries(release, ["--backend", "memory"], queries, runs,
                                                              time_queries, path_for, "memory")
    running = []
    try:
        endpoints = {}
        if "oxigraph" in stores:
            c.emit("-- Oxigraph: bulk loader, then kazdata load")
            result["loads"]["oxigraph"], server, endpoints["oxigraph"] = oxigraph_loads(release, work)
            running.append(server)
        if "virtuoso" in stores and Path(VIRTUOSO).exists():
            c.emit("-- Virtuoso: bulk loader, then kazdata load")
            result["loads"]["virtuoso"], virtuoso = virtuoso_loads(release, work, buffers)
            running.append(virtuoso)
            endpoints["virtuoso"] = virtuoso.sparql
        for store, endpoint in endpoints.items():
            for form, extra in (("portable", []), ("union", ["--union-default-graph", "true"])):
                c.emit(f"-- kazdata --backend remote -> {store}, {form} default graph")
                result["queries"][f"{store}, {form}"] = kazdata_queries(
                    release, ["--backend", "remote", "--endpoint", endpoint, *extra], queries, runs, time_queries,
                    path_for, f"{store}-{form}")
    finally:
        for server in running:
            server.stop()
    return result


def report(scale: str, result: dict) -> str:
    loads = [[scale, store, f"{f['bulk_s']:.1f}", f"{f['gsp_s']:.1f}", f"{f['switch_s']:.1f}", f['graphs'],
              f"{c.ratio(f['gsp_s'], f['bulk_s']):.1f}"] for store, f in result["loads"].items()]
    names = list(next(iter(result["queries"].values())))
    embedded = result["queries"]["embedded (memory)"]
    rows = []
    for setup, timings in result["queries"].items():
        for name in names:
            q = timings[name]
            rows.append([scale, setup, name, f"{q['median_ms']:.1f}", f"{q['p99_ms']:.1f}", q["status"],
                         f"{c.ratio(q['median_ms'], embedded[name]['median_ms']):.2f}"])
    return "\n\n".join([
        c.table(["scale", "store", "store's bulk loader s", "kazdata load s", "of which the switch s", "graphs",
                 "kazdata/bulk"], loads,
                title="Loading the release into a remote store"),
        c.table(["scale", "kazdata backend", "query", "median ms", "p99 ms", "status", "vs embedded"], rows,
                title="SPARQL through kazdata serve, sequential"),
    ])
