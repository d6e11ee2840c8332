"""Validation at 10^4, 10^5 and 10^6 triples: time per phase and peak memory, per core engine.

Validates the synthetic sources that bench/scale.py generates (cached under
kazdata-bench-scale/sources-N in the temp folder) with ``validate_sources``, once with the compiled core
engine (``engine="sparql"``, the default: core constraints as SPARQL in Oxigraph) and, at the
sizes given by ``--pyshacl-at``, once with the reference (``engine="pyshacl"``: core constraints
in pySHACL, one source file per worker process), each in a fresh process so that its peak RSS is
its own. Prints a table with the ratio.

    python bench/validation.py [--sizes 1e4,1e5,1e6] [--pyshacl-at 1e4,1e5]
    python bench/validation.py --sources FOLDER [--pyshacl-at all]
    python bench/validation.py --suite

``--sources`` validates one folder instead, for example ``kazdata generate --events 21277 FOLDER``
(about 10^6 triples): bench/scale.py keeps its sources across runs, so after a change to the
generator they may no longer conform, and a run then times the reporting of every violation.

``--suite`` runs the W3C SHACL test suite vendored in tests/w3c-shacl/ instead (tests/shacl_suite.py)
and prints, per engine, how many of its 120 tests came out right, were handed over to pySHACL
(the compiled engine run with no fallback) or wrong, and the time the run took.

Phase columns are seconds since the start at which the phase ended: parse (the union loaded),
SPARQL rules (targets they need and the sh:sparql constraints), core (the core constraints).
Peak memory: ``self`` is the validating process's ru_maxrss, ``worker`` the largest worker's
(RUSAGE_CHILDREN gives the maximum, not the sum); ``bound`` is self + workers x worker, an upper
bound on what was resident at once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# the last progress line of each phase, per engine
PHASES = {"sparql": ("parsed", "SPARQL constraints", "core constraints"),
          "pyshacl": ("parsed", "SPARQL constraints", "core shapes")}


def count_triples(folder: Path) -> int:
    import pyoxigraph as ox
    return sum(sum(1 for _ in ox.parse(path=str(p), format=ox.RdfFormat.TURTLE)) for p in sorted(folder.glob("*.ttl")))


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def measure(engine: str, folder: Path) -> dict:
    """Validate with one engine, timing each phase from its progress lines."""
    from kazdata.sources.curated import discover_sources
    from kazdata.validation import validate_sources
    started = time.perf_counter()
    marks: list[tuple[float, str]] = []
    report = validate_sources(discover_sources(folder), engine=engine,
                              progress=lambda line: marks.append((time.perf_counter() - started, line.strip())))
    total = time.perf_counter() - started
    phases = [max((t for t, line in marks if line.startswith(prefix)), default=float("nan"))
              for prefix in PHASES[engine]]
    cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return {"engine": engine, "total_s": total, "cpu_s": cpu, "phases_s": phases, "results": len(report.violations),
            "conforms": report.conforms, "self_mib": _peak_mib(resource.RUSAGE_SELF),
            "worker_mib": _peak_mib(resource.RUSAGE_CHILDREN), "workers": os.cpu_count(),
            "load": os.getloadavg()[0]}


def _in_fresh_process(engine: str, folder: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--one", engine, str(folder)], capture_output=True,
                            text=True, check=True, timeout=3600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _row(triples: int, files: int, run: dict, peer: dict | None) -> str:
    parse, rules, core = run["phases_s"]
    bound = run["self_mib"] + run["workers"] * run["worker_mib"] if run["worker_mib"] > 0 else run["self_mib"]
    ratio = f"{peer['total_s'] / run['total_s']:7.1f}x" if peer else f"{'-':>8}"  # wall time, pySHACL / this
    return (f"{triples:>9} {files:>5} {run['engine']:>7} | {parse:5.1f}s {rules:6.1f}s {core:6.1f}s "
            f"{run['total_s']:6.1f}s {run['cpu_s']:6.1f}s | {run['self_mib']:6.0f} {run['worker_mib']:6.0f} {bound:6.0f} | "
            f"{ratio} | {run['load']:4.1f} | {run['results']} {run['conforms']}")


def suite() -> None:
    """The W3C SHACL suite per engine: right, handed over (compiled engine alone), refused, wrong."""
    import logging
    import warnings
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import shacl_suite
    logging.disable(logging.ERROR)  # rdflib logs each ill-typed literal the suite holds on purpose
    warnings.simplefilter("ignore")
    tests = shacl_suite.listed_tests()
    print(f"{len(tests)} tests listed by tests/w3c-shacl/manifest.ttl "
          f"({sum(t.failure for t in tests)} expect the shapes to be refused)")
    print(f"{'run':>9} | {'right':>5} {'refused':>7} {'handed':>6} {'optional':>8} {'wrong':>5} | time")
    for how in shacl_suite.RUNS:
        started = time.perf_counter()
        outcomes = [(test, shacl_suite.run(test, how)) for test in tests]
        right = sum(o.verdict == "right" for _, o in outcomes)
        refused = sum(o.verdict == "right" and t.failure for t, o in outcomes)
        handed = sum(o.verdict == "handed over" for _, o in outcomes)
        optional = sum(o.verdict == "optional, refused" for _, o in outcomes)
        wrong = [(t, o) for t, o in outcomes if o.verdict == "wrong"]
        print(f"{how:>9} | {right:5} {refused:7} {handed:6} {optional:8} {len(wrong):5} | "
              f"{time.perf_counter() - started:.1f} s")
        for test, outcome in wrong:
            print(f"{'':>9}   wrong: {test.name}: {outcome.detail[:160]}")
    print("(right includes the refusals SHACL requires; handed over: shapes the compiled engine would give to "
          "pySHACL, counted only when it runs with no fallback; optional: a feature SHACL lets a processor leave "
          "out ($shapesGraph), refused with a message naming the shape)")


def _folders(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(label, folder) pairs to validate: the one ``--sources`` names (label "all", so that
    ``--pyshacl-at all`` runs pySHACL on it too), else bench/scale.py's at each size."""
    if args.sources:
        return [("all", Path(args.sources))]
    import scale
    per_event = scale.triples_per_event()
    return [(size, scale.generated(size, per_event)) for size in args.sizes.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="scales of bench/scale.py, comma-separated")
    parser.add_argument("--pyshacl-at", default="1e4,1e5", help="scales at which to run the pySHACL engine too")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--suite", action="store_true", help="run the W3C SHACL test suite instead")
    parser.add_argument("--sources", help="validate this folder of sources instead of bench/scale.py's")
    args = parser.parse_args()
    if args.suite:
        suite()
        return
    if args.one:
        engine, folder = args.one
        print(json.dumps(measure(engine, Path(folder))))
        return
    rows = []
    for size, folder in _folders(args):
        triples, files = count_triples(folder), len(list(folder.glob("*.ttl")))
        new = _in_fresh_process("sparql", folder)
        old = _in_fresh_process("pyshacl", folder) if size in args.pyshacl_at.split(",") else None
        rows.append((triples, files, new, old))
        print(f"{triples} triples: {json.dumps(new)}" + (f"\n  pyshacl: {json.dumps(old)}" if old else ""), flush=True)
    print()
    print(f"{'triples':>9} {'files':>5} {'engine':>7} | {'parse':>6} {'+rules':>7} {'+core':>7} {'total':>7} {'cpu':>7} | "
          f"{'self':>6} {'worker':>6} {'bound':>6} | {'pyshacl/':>8} | load | results conforms")
    for triples, files, new, old in rows:
        print(_row(triples, files, new, old))
        if old:
            print(_row(triples, files, old, None))
    print("(MiB; cpu is user + system seconds of the process and its helpers/workers; phase columns are seconds since the start at which the phase finished; load is the "
          "1-minute load average when the run ended)")


if __name__ == "__main__":
    main()
