"""Validation at 10^4, 10^5 and 10^6 triples: time per phase and peak memory, beside the old way.

Generates synthetic sources (``kazdata generate``, one file per 1,000 events, cached under
/tmp/kazdata-bench-validation), validates each size in a fresh process (so that its peak RSS and
its workers' are its own), and prints a table. The old way -- every source merged into one rdflib
graph and one pySHACL run over all shapes -- runs at 10^4 triples for the side-by-side ratio.

    python bench/validation.py [--sizes 10000,100000,1000000] [--old-at 10000]

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

CACHE = Path("/tmp/kazdata-bench-validation")
TRIPLES_PER_EVENT = 47  # measured: 1,173,204 triples for 25,000 events, the world included


def dataset(triples: int) -> Path:
    """The cached synthetic sources for about ``triples`` triples."""
    from kazdata.generate import generate
    events = max(1, round(triples / TRIPLES_PER_EVENT))
    folder = CACHE / f"events-{events}"
    if not (folder / ".complete").exists():
        generate(events, folder)
        (folder / ".complete").write_text("")
    return folder


def count_triples(folder: Path) -> int:
    import pyoxigraph as ox
    return sum(sum(1 for _ in ox.parse(path=str(p), format=ox.RdfFormat.TURTLE)) for p in sorted(folder.glob("*.ttl")))


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def measure_new(folder: Path) -> dict:
    """Validate with kazdata.validation, timing each phase from its progress lines."""
    from kazdata.sources import discover_sources
    from kazdata.validation import validate_sources
    started = time.perf_counter()
    marks: list[tuple[float, str]] = []
    report = validate_sources(discover_sources(folder),
                              progress=lambda line: marks.append((time.perf_counter() - started, line.strip())))
    total = time.perf_counter() - started
    parsed = next(t for t, line in marks if line.startswith("parsed"))
    sparql = next(t for t, line in marks if line.startswith("SPARQL constraints"))
    core_done = max(t for t, line in marks if line.startswith("core shapes"))
    return {"total_s": total, "parse_s": parsed, "sparql_done_s": sparql, "core_done_s": core_done,
            "results": len(report.violations), "conforms": report.conforms,
            "self_mib": _peak_mib(resource.RUSAGE_SELF), "worker_mib": _peak_mib(resource.RUSAGE_CHILDREN),
            "workers": os.cpu_count()}


def measure_old(folder: Path) -> dict:
    """The previous validator: one rdflib graph of everything, one pySHACL run."""
    import pyshacl
    from rdflib import Graph

    from kazdata import bundled
    started = time.perf_counter()
    data = Graph()
    for path in sorted(folder.glob("*.ttl")):
        data.parse(path, format="turtle")
    data.parse(bundled.ontology_file(), format="turtle")
    shapes = Graph()
    for path in bundled.shapes_files():
        shapes.parse(path, format="turtle")
    parsed = time.perf_counter() - started
    conforms, _results, _text = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                                 allow_warnings=True, meta_shacl=False)
    return {"total_s": time.perf_counter() - started, "parse_s": parsed, "conforms": conforms,
            "self_mib": _peak_mib(resource.RUSAGE_SELF)}


def _in_fresh_process(kind: str, folder: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--one", kind, str(folder)], capture_output=True,
                            text=True, check=True, timeout=3600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="triple counts, comma-separated")
    parser.add_argument("--old-at", type=int, default=10000, help="size at which to time the old validator too (0: never)")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, folder = args.one
        print(json.dumps((measure_new if kind == "new" else measure_old)(Path(folder))))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        folder = dataset(size)
        triples = count_triples(folder)
        files = len(list(folder.glob("*.ttl")))
        new = _in_fresh_process("new", folder)
        old = _in_fresh_process("old", folder) if size == args.old_at else None
        rows.append((size, triples, files, new, old))
        print(f"{triples} triples: {json.dumps(new)}" + (f"\n  old: {json.dumps(old)}" if old else ""), flush=True)
    print()
    print(f"{'triples':>9} {'files':>5} | {'parse':>6} {'+sparql':>7} {'+core':>7} {'total':>7} | "
          f"{'self':>6} {'worker':>6} {'bound':>6} MiB | {'old':>7} {'old/new':>7} | conforms")
    for _size, triples, files, new, old in rows:
        bound = new["self_mib"] + new["workers"] * new["worker_mib"]
        old_text = f"{old['total_s']:6.1f}s {old['total_s'] / new['total_s']:6.1f}x" if old else f"{'-':>7} {'-':>7}"
        print(f"{triples:>9} {files:>5} | {new['parse_s']:5.1f}s {new['sparql_done_s']:6.1f}s {new['core_done_s']:6.1f}s "
              f"{new['total_s']:6.1f}s | {new['self_mib']:6.0f} {new['worker_mib']:6.0f} {bound:6.0f}     | "
              f"{old_text} | {new['conforms']}")
    print("(phase columns are seconds since the start at which the phase finished; SPARQL constraints run "
          "in the main process while the workers validate the core shapes)")


if __name__ == "__main__":
    main()
