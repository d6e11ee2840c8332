"""kazdata at 10^4, 10^5 and 10^6 triples, on each backend, beside its peers in the same run.

    python bench/scale.py [--scales 1e4,1e5,1e6] [--backends memory,disk,remote] [--seconds 10]
    python bench/scale.py --scales 1e6 --remote-stores oxigraph,virtuoso [--runs 5]

Per scale: ``kazdata generate`` (cached under /tmp), ``kazdata build --store`` with its
per-phase times and peak memory, then for each backend: start-up time (until a SPARQL query is
answered), memory of the serving processes (PSS, so pages shared copy-on-write count once),
``/doc/`` requests/s with p50/p99 at 32 connections (wrk), and the median / p99 latency of a
few queries on the generated vocabulary, light and heavy. Peers measured in the same run on the
same data: Oxigraph's own server (the same queries, and DESCRIBE as the dereferencing
equivalent), nginx serving the same document bytes (the ``kazdata export-static`` tree) and
rdflib's SPARQL engine (in a subprocess with a time cap). Ratios are printed beside absolutes.
Loopback only; bounded in time (each server run and each rdflib run has a cap).

``--remote-stores`` measures instead, per scale, what a remote store costs
(``bench/remote_stores.py``): ``kazdata load`` into an Oxigraph server and into Virtuoso beside
each store's own bulk loader, with its progress shown, and the same queries through
``--backend remote`` in the portable form and with ``--union-default-graph true``, beside the
embedded store.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c

#: generated sources and built releases, kept between runs (``KAZDATA_BENCH_CACHE`` moves it, so that
#: two checkouts measuring at once, or with different generators, do not share one)
CACHE = Path(os.environ.get("KAZDATA_BENCH_CACHE", Path(tempfile.gettempdir()) / "kazdata-bench-scale"))
SCALES = {"1e4": 10_000, "1e5": 100_000, "1e6": 1_000_000}
ID = "https://w3id.org/kazdata/id/"
PROLOGUE = ("PREFIX schema: <https://schema.org/> PREFIX kaz: <https://w3id.org/kazdata/ontology#> "
            "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX sem: <http://semanticweb.cs.vu.nl/2009/11/sem/> "
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> ")
QUERIES = {
    "one entity's triples": f"SELECT ?p ?o WHERE {{ <{ID}event/synthetic-event-7> ?p ?o }}",
    "events in one region, by date": (
        f"SELECT ?e ?date WHERE {{ ?e schema:location/schema:containedInPlace <{ID}place/synthetic-region-0> ; "
        "schema:startDate ?date } ORDER BY ?date LIMIT 100"),
    "figures summed per outlet": ("SELECT ?outlet (SUM(?v) AS ?total) (COUNT(?c) AS ?claims) WHERE { "
                                  "?c a kaz:FigureClaim ; kaz:reportedValue ?v ; prov:wasAttributedTo ?outlet } "
                                  "GROUP BY ?outlet ORDER BY ?outlet"),
    "quotations with speaker and event": ("SELECT ?q ?who ?event WHERE { ?q a schema:Quotation ; "
                                          "schema:spokenByCharacter ?who ; schema:about ?event } LIMIT 100"),
}
HEAVY = {
    "regex over every label": 'SELECT (COUNT(*) AS ?n) WHERE { ?s rdfs:label ?l FILTER(REGEX(?l, "7 in synthetic")) }',
    "events sharing an actor": ("SELECT (COUNT(*) AS ?n) WHERE { ?a a schema:Person . ?e sem:hasActor ?a . "
                                "?f sem:hasActor ?a }"),
}
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
RDFLIB_CAP_S = 300


def triples_per_event() -> float:
    """Measured on 1,000 generated events, shared places and people included."""
    import pyoxigraph as ox

    from kazdata.sources.generate import generate
    folder = CACHE / "probe"
    if not folder.exists():
        generate(1000, folder)
    count = sum(1 for path in folder.glob("*.ttl") for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    return count / 1000


def generated(scale: str, per_event: float) -> Path:
    events = max(10, round(SCALES[scale] / per_event))
    folder = CACHE / f"sources-{events}"
    if not (folder / "synthetic-world.ttl").exists():
        subprocess.run(["kazdata", "generate", "--events", str(events), str(folder)], check=True,
                       stdout=subprocess.DEVNULL)
    return folder


def build(sources: Path, release: Path, rebuild: bool) -> dict:
    """``kazdata build --store`` with its phase times (from its progress lines) and peak RSS.

    The release and its figures are kept under the cache folder: a later run reuses them (and
    says so) unless ``rebuild``, since a 10^6-triple build takes minutes on this machine."""
    figures = release.with_suffix(".build.json")
    if not rebuild and figures.exists() and (release / "store").is_dir():
        return {**json.loads(figures.read_text()), "reused": True}
    shutil.rmtree(release, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run(["kazdata", "build", str(release), "--sources", str(sources), "--store"],
                          capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"build failed:\n{proc.stderr[-3000:]}")
    phases = {m.group(1).strip(): float(m.group(2))
              for m in re.finditer(r"^\s+(.+?): done in ([\d.]+) s", proc.stderr, re.M)}
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    files = sum(1 for p in release.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in release.rglob("*") if p.is_file())
    nquads = release / "dumps" / "kazdata.nq"
    triples = sum(1 for _ in nquads.open("rb"))
    result = {"wall_s": wall, "phases": phases, "peak_rss_mib": peak_mib, "files": files,
              "size_mib": size / 2**20, "triples": triples, "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average_after": os.getloadavg()[0]}
    figures.write_text(json.dumps(result))
    release.with_suffix(".build.log").write_text(proc.stderr)
    return result


def pss_mib(pgid: int) -> float:
    """Proportional set size of every process in the group: shared pages counted once."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ProcessLookupError, ValueError):
            continue
    return total / 1024


def time_queries(base: str, path_for, queries: dict[str, str], runs: int) -> dict:
    client = c.HttpClient(base, timeout=120)
    out = {}
    for name, query in queries.items():
        times, status = [], None
        for _ in range(runs + 1):  # the first is a warm-up
            started = time.perf_counter()
            status, _headers, _body = client.get(path_for(PROLOGUE + query), JSON_RESULTS)
            times.append((time.perf_counter() - started) * 1000)
        times = times[1:]
        out[name] = {"median_ms": c.median(times), "p99_ms": c.percentile(times, 99), "status": status}
    client.close()
    return out


def kazdata_path(query: str) -> str:
    return "/sparql?query=" + quote(query)


def oxigraph_path(query: str) -> str:
    return "/query?query=" + quote(query)


def doc_paths(release: Path, count: int = 200) -> list[str]:
    entities = c.entity_index(release)
    step = max(1, len(entities) // count)
    return [f"/doc/{e['path']}" for e in entities[::step]][:count]


def serve_kazdata(release: Path, backend: str, endpoint: str | None, seconds: int, runs: int) -> dict:
    port = c.free_port()
    argv = ["kazdata", "serve", "--release", str(release), "--host", c.HOST, "--port", str(port),
            "--backend", backend, "--query-timeout", "60", "--result-limit", "100000"]
    if endpoint:
        argv += ["--endpoint", endpoint]
    base = f"http://{c.HOST}:{port}"
    started = time.perf_counter()
    server = c.Server(f"kazdata-{backend}", argv, base + kazdata_path("ASK {}"), headers=JSON_RESULTS,
                      ready_timeout=600)
    with server:
        start_s = time.perf_counter() - started
        memory = pss_mib(server.proc.pid)
        doc = c.wrk(base, doc_paths(release), {"Accept": "text/turtle"}, duration=seconds, label="doc")
        light = time_queries(base, kazdata_path, QUERIES, runs)
        heavy = time_queries(base, kazdata_path, HEAVY, max(3, runs // 5))
        memory = max(memory, pss_mib(server.proc.pid))
    return {"start_s": start_s, "pss_mib": memory, "doc": doc, "queries": light, "heavy": heavy}


def rdflib_timings(release: Path, runs: int) -> dict:
    """rdflib's own engine in a subprocess (its parse and queries cannot be interrupted in-process)."""
    script = f"""
import json, sys, time
from rdflib import Dataset
started = time.perf_counter()
dataset = Dataset(default_union=True)
dataset.parse({str(release / 'dumps' / 'kazdata.nq')!r}, format='nquads')
out = {{"parse_s": time.perf_counter() - started, "queries": {{}}}}
queries = json.loads(sys.argv[1])
for name, query in queries.items():
    times = []
    for _ in range({runs}):
        t = time.perf_counter()
        list(dataset.query(query))
        times.append((time.perf_counter() - t) * 1000)
        if sum(times) > 60000:
            break
    out["queries"][name] = sorted(times)[len(times) // 2]
print("RESULT " + json.dumps(out), flush=True)
"""
    queries = {name: PROLOGUE + q for name, q in QUERIES.items()}
    try:
        proc = subprocess.run([sys.executable, "-c", script, json.dumps(queries)], capture_output=True,
                              text=True, timeout=RDFLIB_CAP_S)
    except subprocess.TimeoutExpired:
        return {"parse_s": None, "queries": {}, "capped": True}
    line = next(out for out in proc.stdout.splitlines() if out.startswith("RESULT "))
    return {**json.loads(line[len("RESULT "):]), "capped": False}


def nginx_static(release: Path, seconds: int) -> dict:
    """nginx on the same document bytes: ``kazdata export-static`` under its generated
    configuration (negotiating) and plain nginx sending the chosen files by path (bench/static.py)."""
    import static
    figures = static.run(release, duration=seconds, rounds=1)
    return {"static": figures["results"]["static"], "plain": figures["results"]["plain"]}


def run_scale(scale: str, per_event: float, backends: list[str], seconds: int, runs: int, work: Path,
              rebuild: bool = False, build_only: bool = False, nginx_max: int = SCALES["1e5"],
              remote_stores: list[str] | None = None) -> dict:
    sources = generated(scale, per_event)
    release = CACHE / f"release-{scale}"
    c.emit(f"\n== {scale} triples: building {release} from {sources} ==")
    built = build(sources, release, rebuild)
    if built.get("reused"):
        c.emit(f"reusing the release and build figures of {built['built']} (--rebuild to build again)")
    c.emit(f"built {built['triples']} triples in {built['wall_s']:.1f} s, peak RSS {built['peak_rss_mib']:.0f} MiB, "
           f"{built['files']} files, {built['size_mib']:.0f} MiB; phases: "
           + ", ".join(f"{k} {v:.1f} s" for k, v in built["phases"].items()))
    result: dict = {"build": built, "backends": {}}
    if build_only:
        return result
    if remote_stores:
        import remote_stores as stores
        result["remote_stores"] = stores.measure(release, work, {**QUERIES, **HEAVY}, runs, time_queries,
                                                 kazdata_path, remote_stores)
        return result
    location = work / f"oxigraph-{scale}"
    shutil.rmtree(location, ignore_errors=True)
    port = c.free_port()
    oxigraph = c.Server("oxigraph", ["oxigraph", "serve", "--location", str(location), "--bind",
                                     f"{c.HOST}:{port}", "--union-default-graph"],
                        f"http://{c.HOST}:{port}/query?query=" + quote("ASK {}"), headers=JSON_RESULTS)
    # no --timeout-s: Oxigraph 0.5.13 starts a thread per query for it, and under wrk's 32
    # connections it panicked ("failed to allocate an alternative stack") and exited
    with oxigraph:
        ox_base = f"http://{c.HOST}:{port}"
        started = time.perf_counter()
        subprocess.run(["kazdata", "load", str(release), "--endpoint", ox_base + "/store"], check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)
        result["load_s"] = time.perf_counter() - started
        for backend in backends:
            c.emit(f"-- kazdata, backend {backend}")
            result["backends"][backend] = serve_kazdata(release, backend, ox_base + "/query" if backend == "remote"
                                                        else None, seconds, runs)
        c.emit("-- Oxigraph server (peer)")
        describe = ["/query?query=" + quote(f"DESCRIBE <{ID}{p[len('/doc/'):]}>") for p in doc_paths(release)]
        result["oxigraph"] = {
            "pss_mib": pss_mib(oxigraph.proc.pid),
            "describe": c.wrk(ox_base, describe, {"Accept": "text/turtle"}, duration=seconds, label="describe"),
            "queries": time_queries(ox_base, oxigraph_path, QUERIES, runs),
            "heavy": time_queries(ox_base, oxigraph_path, HEAVY, max(3, runs // 5)),
        }
    if SCALES[scale] <= nginx_max:
        c.emit("-- nginx on the same document bytes (peer)")
        result["nginx"] = nginx_static(release, seconds)
    c.emit("-- rdflib's SPARQL engine (peer)")
    result["rdflib"] = rdflib_timings(release, max(3, runs // 4))
    return result


def report(results: dict) -> str:
    rows, query_rows, build_rows = [], [], []
    for scale, r in results.items():
        b = r["build"]
        build_rows.append([scale + (f" (built {b['built']})" if b.get("reused") else ""), b["triples"], f"{b['wall_s']:.1f}", f"{b['peak_rss_mib']:.0f}", b["files"],
                           f"{b['size_mib']:.0f}", "; ".join(f"{k} {v:.1f}" for k, v in b["phases"].items()),
                           f"{r['load_s']:.1f}"])
        ox_doc = r["oxigraph"]["describe"]
        nginx = r["nginx"]["plain"] if "nginx" in r else None
        for backend, k in r["backends"].items():
            d = k["doc"]
            rows.append([scale, backend, f"{k['start_s']:.2f}", f"{k['pss_mib']:.0f}",
                         f"{d['rps']:.0f}", f"{d['p50_ms']:.1f}", f"{d['p99_ms']:.1f}", d["errors"] + d["non_2xx"],
                         f"{c.ratio(d['rps'], ox_doc['rps']):.2f}",
                         f"{c.ratio(d['rps'], nginx['rps']):.3f}" if nginx else "not run"])
            for name, q in {**k["queries"], **k["heavy"]}.items():
                peer = {**r["oxigraph"]["queries"], **r["oxigraph"]["heavy"]}[name]
                rdflib = r["rdflib"]["queries"].get(name)
                query_rows.append([scale, backend, name, f"{q['median_ms']:.1f}", f"{q['p99_ms']:.1f}",
                                   f"{peer['median_ms']:.1f}", f"{c.ratio(q['median_ms'], peer['median_ms']):.2f}",
                                   f"{rdflib:.0f}" if rdflib else "n/a",
                                   f"{c.ratio(rdflib, q['median_ms']):.1f}" if rdflib else "n/a"])
        rows.append([scale, "oxigraph DESCRIBE", "", f"{r['oxigraph']['pss_mib']:.0f}", f"{ox_doc['rps']:.0f}",
                     f"{ox_doc['p50_ms']:.1f}", f"{ox_doc['p99_ms']:.1f}", ox_doc["errors"] + ox_doc["non_2xx"], "1", ""])
        for label, figures in ((("kazdata export-static (nginx)", r["nginx"]["static"]), ("plain nginx", nginx))
                               if nginx else ()):
            rows.append([scale, label, "", "", f"{figures['rps']:.0f}", f"{figures['p50_ms']:.1f}",
                         f"{figures['p99_ms']:.1f}", figures["errors"] + figures["non_2xx"], "",
                         f"{c.ratio(figures['rps'], nginx['rps']):.3f}"])
    return "\n\n".join([
        c.table(["scale", "triples", "build s", "build peak RSS MiB", "files", "MiB", "phases (s)",
                 "kazdata load s"], build_rows, title="Build (kazdata build --store) and load (kazdata load, GSP)"),
        c.table(["scale", "server", "start s", "PSS MiB", "/doc/ req/s", "p50 ms", "p99 ms", "errors",
                 "vs Oxigraph DESCRIBE", "vs nginx"], rows, title="Serving: /doc/ Turtle, wrk 32 connections"),
        c.table(["scale", "backend", "query", "median ms", "p99 ms", "Oxigraph median ms", "kazdata/Oxigraph",
                 "rdflib median ms", "rdflib/kazdata"], query_rows, title="SPARQL latency, sequential"),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1e4,1e5,1e6")
    parser.add_argument("--backends", default="memory,disk,remote")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per light query")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--rebuild", action="store_true", help="build again even if a cached release exists")
    parser.add_argument("--build-only", action="store_true", help="only generate and build (fills the cache)")
    parser.add_argument("--remote-stores", help="comma-separated (oxigraph,virtuoso): measure loading and querying "
                                                "these remote stores instead (bench/remote_stores.py)")
    parser.add_argument("--nginx-max", default="1e5",
                        help="largest scale with the nginx peers (exporting renders every document in every "
                             "format: minutes at 10^6)")
    args = parser.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    per_event = triples_per_event()
    c.emit(f"generated data: {per_event:.1f} triples per event (shared places and people included)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="kazdata-scale-") as work:
        for scale in args.scales.split(","):
            results[scale] = run_scale(scale, per_event, args.backends.split(","), args.seconds, args.runs, Path(work),
                                       args.rebuild, args.build_only, SCALES[args.nginx_max],
                                       args.remote_stores.split(",") if args.remote_stores else None)
    if args.build_only:
        return 0
    c.emit()
    if args.remote_stores:
        import remote_stores as stores
        c.emit("\n\n".join(stores.report(scale, r["remote_stores"]) for scale, r in results.items()))
    else:
        c.emit(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
