"""SPARQL: the example queries timed on three engines, and light traffic beside heavy queries.

Part 1 runs each example query (release/queries/*.rq) ``--runs`` times, one request at a time,
after one untimed warm-up run, the three engines taking turns run by run (so that other work on
the machine falls on all three alike), on
- kazdata /sparql (``kazdata serve``, gunicorn): the query text as published (predeclared prefixes),
  GET ?query=, Accept: application/sparql-results+json; time = client wall time of the request;
- Oxigraph's server (``oxigraph serve-read-only --union-default-graph`` on dumps/kazdata.nq):
  the same query with PREFIX lines for kazdata.vocabulary.PREFIXES, same GET and Accept;
- rdflib in-process: ``Dataset(default_union=True)`` parsed from the same .nq, the same text as
  Oxigraph; time = ``ds.query(text)`` plus reading every row (no HTTP, no serialisation).
It prints median and p99 (nearest rank: with 20 runs, the slowest) per engine and query, and
the ratios kazdata/oxigraph and rdflib/kazdata of the medians. Row counts are compared.

Part 2 serves kazdata with ``--query-timeout 5`` and measures light traffic (one client thread
asking for /doc/ Turtle documents, one asking a cheap SPARQL query, each a fresh connection
every ``--light-interval`` s) for ``--light-seconds``, first alone, then while 4 client
threads keep sending a heavy query (a cartesian product of six 100-value VALUES blocks, which
runs past the 5 s limit) and prints both p99s and their ratio, and the status of every light
request. The light clients connect from 127.0.0.2 and the heavy ones from 127.0.0.1: to the
server's per-client cap (decision 013) they are two clients, as a reader and a heavy user
would be (from one address, the cap refused the light queries beside the heavy ones, by design).

Part 3 (``--concurrent-seconds`` > 0) sends each example query over 32 connections (``wrk -t2
-c32``) for that many seconds to kazdata and to Oxigraph's server in turn, and prints requests
per second, kazdata's share of Oxigraph's per query and their median and geometric mean (issue
20's aim: at least 0.67x), each after an unmeasured second of the same traffic. kazdata runs with ``--queries-per-client 0`` in this part: wrk's
connections all come from one address, and the cap would refuse most of them.

    python bench/sparql.py [--release DIR] [--runs N] [--light-seconds S] [--concurrent-seconds S]
        [--parts 1,2,3] [--only GLOB] [--without-rdflib] [--no-warm-up]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import common as c
import requests

JSON = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
TURTLE = {"Accept": "text/turtle"}
AIM_SPARQL_RATIO = 1.5
HEAVY_CLIENTS = 4
HEAVY_TIMEOUT = 5.0
#: where the light clients of part 2 connect from (the heavy ones from 127.0.0.1)
LIGHT_SOURCE = "127.0.0.2"
AIM_RPS_SHARE = 0.67
CONNECTIONS = 32


def heavy_query() -> str:
    values = " ".join(str(i) for i in range(100))
    blocks = " ".join(f"VALUES ?v{i} {{ {values} }}" for i in range(6))
    return f"SELECT (COUNT(*) AS ?n) WHERE {{ {blocks} }}"


def _rows_http(status: int, headers: dict, body: bytes) -> str:
    if status != 200:
        return f"HTTP {status}"
    if "json" in headers.get("content-type", ""):
        data = json.loads(body)
        if "boolean" in data:
            return str(data["boolean"]).lower()
        return str(len(data["results"]["bindings"]))
    return f"{len(body)} bytes"


def _once_http(client: c.HttpClient, path: str) -> tuple[float | None, str]:
    """One timed GET: (milliseconds or None on failure, row count or what went wrong)."""
    started = time.perf_counter()
    status, headers, body = client.get(path, JSON)
    elapsed = (time.perf_counter() - started) * 1000
    return (elapsed if status == 200 else None), _rows_http(status, headers, body)


def _once_rdflib(dataset, query: str) -> tuple[float | None, str]:
    """One timed in-process query, every row read: (milliseconds or None, row count or error)."""
    started = time.perf_counter()
    try:
        result = dataset.query(query)
        if result.type == "ASK":
            outcome = str(bool(result.askAnswer)).lower()
        elif result.type == "SELECT":
            outcome = str(len(list(result)))
        else:
            outcome = f"{len(result.graph)} triples"
    except Exception as error:  # noqa: BLE001 -- rdflib's engine fails on some valid queries, with any exception
        return None, f"error: {type(error).__name__}: {str(error)[:60]}"
    return (time.perf_counter() - started) * 1000, outcome


@contextlib.contextmanager
def _kazdata_and_oxigraph(release: Path, *extra: str) -> Iterator[tuple[str, str]]:
    """kazdata and Oxigraph's server on the same release, side by side: their base URLs."""
    with tempfile.TemporaryDirectory(prefix="bench-sparql-") as tmp:
        location = c.oxigraph_store(release, Path(tmp) / "oxigraph")
        kazdata, kazdata_base = c.kazdata_server(release, workers=c.default_workers(), extra=extra)
        oxigraph, oxigraph_base = c.oxigraph_server(location)
        with kazdata, oxigraph:
            yield kazdata_base, oxigraph_base


def query_timings(release: Path, runs: int, only: str = "*", rdflib: bool = True) -> dict:
    """Part 1; ``rdflib=False`` leaves rdflib's turns out, so that kazdata's and Oxigraph's
    requests follow each other closely (rdflib's 10-230 ms of Python between them leave both
    servers idle and their caches cold: kazdata's four processes per query pay more for that)."""
    from rdflib import Dataset
    queries = sorted((release / "queries").glob(only + ".rq"))
    c.emit(f"\n== sparql part 1: {len(queries)} example queries x {runs} sequential runs "
           "(+1 warm-up) per engine, the engines taking turns request by request ==")
    meter = c.CpuMeter()
    per_query: dict[str, dict] = {}
    dataset = Dataset(default_union=True)
    dataset.parse(release / "dumps" / "kazdata.nq", format="nquads")
    with _kazdata_and_oxigraph(release) as (kazdata_base, oxigraph_base):
        started = time.perf_counter()
        k_client, o_client = c.HttpClient(kazdata_base), c.HttpClient(oxigraph_base)
        for path in queries:
            text = path.read_text(encoding="utf-8")
            full = c.with_prefixes(text)
            engines = {
                "kazdata": functools.partial(_once_http, k_client, "/sparql?query=" + quote(text)),
                "oxigraph": functools.partial(_once_http, o_client, "/query?query=" + quote(full)),
                "rdflib": functools.partial(_once_rdflib, dataset, full),
            }
            entry = {name: {"times": [], "rows": "" if rdflib or name != "rdflib" else "skipped"}
                     for name in engines}
            failed = set() if rdflib else {"rdflib"}
            for i in range(runs + 1):  # run 0 is the warm-up
                for name, once in engines.items():
                    if name in failed:
                        continue
                    elapsed, outcome = once()
                    entry[name]["rows"] = outcome
                    if elapsed is None:
                        failed.add(name)
                        entry[name]["times"] = []
                    elif i:
                        entry[name]["times"].append(elapsed)
            per_query[path.stem] = entry
        k_client.close()
        o_client.close()
        c.emit(f"  {len(queries)} queries done ({time.perf_counter() - started:.0f} s)")

    rows = []
    ratios_ko, ratios_rk = [], []
    for name, engines in per_query.items():
        stats = {}
        for engine in ("kazdata", "oxigraph", "rdflib"):
            times = engines[engine]["times"]
            stats[engine] = (c.median(times), c.percentile(times, 99))
            engines[engine]["median_ms"], engines[engine]["p99_ms"] = stats[engine]
        ko = c.ratio(stats["kazdata"][0], stats["oxigraph"][0])
        rk = c.ratio(stats["rdflib"][0], stats["kazdata"][0])
        engines["kazdata_vs_oxigraph"], engines["rdflib_vs_kazdata"] = ko, rk
        if ko == ko:
            ratios_ko.append(ko)
        if rk == rk:
            ratios_rk.append(rk)
        counts = [engines[e]["rows"] for e in ("kazdata", "oxigraph", "rdflib")]
        agree = "yes" if len({count for count in counts if count != "skipped"}) == 1 else "NO: " + "/".join(counts)
        rows.append([name, stats["kazdata"][0], stats["kazdata"][1], stats["oxigraph"][0], stats["oxigraph"][1],
                     stats["rdflib"][0], stats["rdflib"][1], f"{ko:.2f}x" if ko == ko else "n/a",
                     f"{rk:.1f}x" if rk == rk else "n/a", counts[0], agree])
    c.emit()
    c.emit(c.table(["query", "kazdata med ms", "kazdata p99 ms", "oxigraph med ms", "oxigraph p99 ms",
                    "rdflib med ms", "rdflib p99 ms", "kazdata/oxigraph", "rdflib/kazdata",
                    "rows (kazdata)", "same rows on all 3"], rows,
                   title=f"Example queries, {runs} sequential runs each (medians and p99 in ms)"))
    within = sum(1 for r in ratios_ko if r <= AIM_SPARQL_RATIO)
    geo_ko, median_ko = _geomean(ratios_ko), c.median(ratios_ko)
    geo_rk = _geomean(ratios_rk)
    total = {e: sum(per_query[q][e]["median_ms"] for q in per_query if per_query[q][e]["times"])
             for e in ("kazdata", "oxigraph", "rdflib")}
    c.emit(f"kazdata/oxigraph ratio of the medians: median {median_ko:.2f}x, geometric mean {geo_ko:.2f}x, "
           f"max {max(ratios_ko):.2f}x; {within} of {len(ratios_ko)} queries within {AIM_SPARQL_RATIO}x "
           f"(aim: the median within {AIM_SPARQL_RATIO}x: {'met' if median_ko <= AIM_SPARQL_RATIO else 'MISSED'})")
    c.emit(f"rdflib/kazdata median ratio: geometric mean {geo_rk:.1f}x over {len(ratios_rk)} queries "
           f"rdflib could answer")
    c.emit("sum of medians over the queries each engine answered: "
           + ", ".join(f"{e} {v:.1f} ms" for e, v in total.items()))
    c.emit(f"machine during this part: {meter.describe()}")
    return {"cpu": meter.read(), "queries": per_query, "kazdata_vs_oxigraph_geomean": geo_ko,
            "kazdata_vs_oxigraph_median": median_ko,
            "kazdata_vs_oxigraph_max": max(ratios_ko),
            "within_aim": within, "answered_by_both": len(ratios_ko), "rdflib_vs_kazdata_geomean": geo_rk,
            "aim_met": median_ko <= AIM_SPARQL_RATIO, "runs": runs, "sum_of_medians_ms": total}


def _geomean(values: list[float]) -> float:
    import math
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


# --- part 2: light traffic beside heavy queries ------------------------------------------

def _light_client(base: str, paths: list[str], headers: dict, stop: threading.Event,
                  interval: float, out: dict) -> None:
    """One request at a time, each on a new connection from ``LIGHT_SOURCE``, every ``interval``
    s until ``stop``; each request's status (or error) is counted in ``out["statuses"]``."""
    client = c.HttpClient(base, timeout=30, keep_alive=False, source=LIGHT_SOURCE)
    i = 0
    while not stop.is_set():
        path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        try:
            status, _headers, _body = client.get(path, headers)
            elapsed = (time.perf_counter() - started) * 1000
            out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
            if status == 200:
                out["times"].append(elapsed)
            else:
                out["failures"].append(f"HTTP {status}")
        except OSError as error:
            out["statuses"][type(error).__name__] = out["statuses"].get(type(error).__name__, 0) + 1
            out["failures"].append(type(error).__name__)
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))


def _heavy_client(url: str, query: str, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = requests.get(url, params={"query": query}, headers=JSON, timeout=60)
            out.append((response.status_code, time.perf_counter() - started))
        except requests.RequestException as error:
            out.append((type(error).__name__, time.perf_counter() - started))


def _light_phase(base: str, doc_paths: list[str], cheap: str, seconds: float, interval: float,
                 heavy: bool) -> dict:
    stop = threading.Event()
    doc: dict = {"times": [], "failures": [], "statuses": {}}
    sparql: dict = {"times": [], "failures": [], "statuses": {}}
    heavy_out: list = []
    heavy_threads = []
    if heavy:
        for _ in range(HEAVY_CLIENTS):
            thread = threading.Thread(target=_heavy_client, args=(base + "/sparql", heavy_query(), stop, heavy_out))
            thread.start()
            heavy_threads.append(thread)
        time.sleep(1.0)  # let the heavy queries start before measuring
    light = [threading.Thread(target=_light_client, args=(base, doc_paths, TURTLE, stop, interval, doc)),
             threading.Thread(target=_light_client, args=(base, ["/sparql?query=" + quote(cheap)], JSON, stop,
                                                          interval, sparql))]
    for thread in light:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in light + heavy_threads:
        thread.join(timeout=90)
    return {"doc": doc, "sparql": sparql, "heavy": heavy_out}


def light_under_heavy(release: Path, *, seconds: float, interval: float) -> dict:
    workers = c.default_workers()
    c.emit(f"\n== sparql part 2: light traffic ({seconds:g} s, a request every {interval * 1000:.0f} ms per "
           f"client from {LIGHT_SOURCE}, /doc/ and cheap SPARQL) alone and beside {HEAVY_CLIENTS} heavy queries "
           f"from 127.0.0.1; "
           f"kazdata serve --query-timeout {HEAVY_TIMEOUT:g}, {workers} workers ==")
    entities = c.sample_entities(release)
    cheap = c.cheap_query(release)
    meter = c.CpuMeter()
    server, base = c.kazdata_server(release, workers=workers, query_timeout=HEAVY_TIMEOUT)
    with server:
        doc_paths = [f"/doc/{e['path']}" for e in entities]
        c.warm_up(base, doc_paths, TURTLE)
        c.warm_up(base, ["/sparql?query=" + quote(cheap)], JSON)
        quiet = _light_phase(base, doc_paths, cheap, seconds, interval, heavy=False)
        c.emit(f"  alone: {len(quiet['doc']['times'])} /doc/ and {len(quiet['sparql']['times'])} SPARQL answers")
        busy = _light_phase(base, doc_paths, cheap, seconds, interval, heavy=True)
        c.emit(f"  beside heavy queries: {len(busy['doc']['times'])} /doc/ and {len(busy['sparql']['times'])} "
               f"SPARQL answers")
        # the server must still be answering once the heavy queries are gone
        time.sleep(2)
        after = requests.get(base + doc_paths[0], headers=TURTLE, timeout=30).status_code
    statuses: dict = {}
    for status, _elapsed in busy["heavy"]:
        statuses[status] = statuses.get(status, 0) + 1
    heavy_times = [elapsed for _status, elapsed in busy["heavy"]]
    rows = []
    result = {}
    for kind, label in (("doc", "/doc/ Turtle"), ("sparql", "cheap SPARQL")):
        q, b = quiet[kind], busy[kind]
        q50, q99 = c.median(q["times"]), c.percentile(q["times"], 99)
        b50, b99 = c.median(b["times"]), c.percentile(b["times"], 99)
        qmax, bmax = max(q["times"], default=float("nan")), max(b["times"], default=float("nan"))
        rows.append([label, len(q["times"]), q50, q99, qmax, len(b["times"]), b50, b99, bmax,
                     f"{c.ratio(b99, q99):.1f}x", _statuses(q["statuses"]), _statuses(b["statuses"])])
        result[kind] = {"alone_p50_ms": q50, "alone_p99_ms": q99, "alone_max_ms": qmax, "heavy_p50_ms": b50,
                        "heavy_p99_ms": b99, "heavy_max_ms": bmax, "ratio_p99": c.ratio(b99, q99),
                        "alone_n": len(q["times"]), "heavy_n": len(b["times"]),
                        "alone_failures": q["failures"], "heavy_failures": b["failures"],
                        "alone_statuses": q["statuses"], "heavy_statuses": b["statuses"],
                        "alone_times_ms": q["times"], "heavy_times_ms": b["times"]}
    c.emit()
    c.emit(c.table(["light request", "n alone", "p50 alone ms", "p99 alone ms", "max alone ms", "n beside heavy",
                    "p50 beside heavy ms", "p99 beside heavy ms", "max beside heavy ms", "p99 ratio",
                    "statuses alone", "statuses beside heavy"],
                   rows, title=f"Light traffic with and without {HEAVY_CLIENTS} concurrent heavy queries "
                               f"(query timeout {HEAVY_TIMEOUT:g} s)"))
    c.emit(f"heavy queries answered: {len(busy['heavy'])}, statuses {statuses}, "
           f"time each {min(heavy_times, default=0):.1f}-{max(heavy_times, default=0):.1f} s; "
           f"/doc/ status 2 s after the heavy clients stopped: {after}")
    c.emit(f"machine during this part: {meter.describe()}")
    result.update({"cpu": meter.read(), "heavy_statuses": {str(k): v for k, v in statuses.items()},
                   "heavy_seconds": [min(heavy_times, default=0), max(heavy_times, default=0)],
                   "status_after": after, "seconds": seconds, "interval": interval})
    return result


def _statuses(counts: dict) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "none"


# --- part 3: the example queries under 32 connections --------------------------------------

def concurrent_timings(release: Path, seconds: int, only: str = "*", warm_up: bool = True) -> dict:
    """Each example query over ``CONNECTIONS`` connections for ``seconds`` s, kazdata then Oxigraph;
    ``warm_up=False`` measures from each query's first request on."""
    queries = sorted((release / "queries").glob(only + ".rq"))
    c.emit(f"\n== sparql part 3: {len(queries)} example queries, each for {seconds} s over {CONNECTIONS} "
           "connections (wrk -t2), kazdata (--queries-per-client 0) and Oxigraph's server in turn ==")
    meter = c.CpuMeter()
    per_query: dict[str, dict] = {}
    with _kazdata_and_oxigraph(release, "--queries-per-client", "0") as (kazdata_base, oxigraph_base):
        for number, path in enumerate(queries):
            text = path.read_text(encoding="utf-8")
            targets = {"kazdata": (kazdata_base, "/sparql?query=" + quote(text)),
                       "oxigraph": (oxigraph_base, "/query?query=" + quote(c.with_prefixes(text)))}
            order = list(targets) if number % 2 == 0 else list(targets)[::-1]
            entry = {}
            for name in order:
                base, target = targets[name]
                # unmeasured: kazdata's web workers learn the query check's verdict from a first
                # answer each (decision 004); without it every query process parses the query
                if warm_up:
                    c.warm_up(base, [target], JSON, seconds=1)
                entry[name] = c.wrk(base, [target], JSON, connections=CONNECTIONS, duration=seconds,
                                    label=f"{path.stem} {name}")
            per_query[path.stem] = entry
    rows, shares = [], []
    for name, entry in per_query.items():
        ours, peer = entry["kazdata"], entry["oxigraph"]
        share = c.ratio(ours["rps"], peer["rps"])
        entry["share"] = share
        shares.append(share)
        rows.append([name, f"{ours['rps']:.0f}", f"{ours['p99_ms']:.1f}", f"{peer['rps']:.0f}",
                     f"{peer['p99_ms']:.1f}", f"{share:.2f}x", ours["errors"] + ours["non_2xx"],
                     peer["errors"] + peer["non_2xx"]])
    c.emit(c.table(["query", "kazdata req/s", "kazdata p99 ms", "oxigraph req/s", "oxigraph p99 ms",
                    "kazdata/oxigraph req/s", "kazdata errors", "oxigraph errors"], rows,
                   title=f"Example queries over {CONNECTIONS} connections, {seconds} s each"))
    median_share, geo = c.median(shares), _geomean(shares)
    reached = sum(1 for share in shares if share >= AIM_RPS_SHARE)
    c.emit(f"kazdata's share of Oxigraph's req/s: median {median_share:.2f}x, geometric mean {geo:.2f}x; "
           f"{reached} of {len(shares)} queries at {AIM_RPS_SHARE}x or more "
           f"(aim: the median at {AIM_RPS_SHARE}x or more: {'met' if median_share >= AIM_RPS_SHARE else 'MISSED'})")
    c.emit(f"machine during this part: {meter.describe()}")
    return {"cpu": meter.read(), "queries": per_query, "median_share": median_share, "geomean_share": geo,
            "reached": reached, "seconds": seconds, "connections": CONNECTIONS}


def run(release: Path, *, runs: int = 20, light_seconds: float = 20.0, light_interval: float = 0.05,
        concurrent_seconds: int = 0, parts: tuple[str, ...] = ("1", "2", "3"), only: str = "*",
        warm_up: bool = True, rdflib: bool = True) -> dict:
    results = {}
    if "1" in parts:
        results["timings"] = query_timings(release, runs, only, rdflib)
    if "2" in parts:
        results["light"] = light_under_heavy(release, seconds=light_seconds, interval=light_interval)
    if "3" in parts and concurrent_seconds > 0:
        results["concurrent"] = concurrent_timings(release, concurrent_seconds, only, warm_up)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query and engine")
    parser.add_argument("--light-seconds", type=float, default=20.0)
    parser.add_argument("--light-interval", type=float, default=0.05)
    parser.add_argument("--concurrent-seconds", type=int, default=0,
                        help=f"part 3: seconds per example query and engine over {CONNECTIONS} connections (0: skip)")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 3 or 1,3")
    parser.add_argument("--only", default="*", help="parts 1 and 3: the example queries whose name matches this glob")
    parser.add_argument("--without-rdflib", action="store_true",
                        help="part 1: kazdata and Oxigraph only, their requests back to back")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="part 3: no unmeasured second before each measurement (a query's first requests count)")
    args = parser.parse_args(argv)
    with c.release_dir(args.release) as release:
        results = run(release, runs=args.runs, light_seconds=args.light_seconds,
                      light_interval=args.light_interval, concurrent_seconds=args.concurrent_seconds,
                      parts=tuple(args.parts.split(",")), only=args.only, warm_up=not args.no_warm_up,
                      rdflib=not args.without_rdflib)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
