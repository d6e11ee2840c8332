"""What handing a query to a query process costs: ``ProcessBackend`` round trips of ``ASK {}``.

    python bench/handoff.py [--release DIR] [--queries 2000] [--rounds 6]

Starts the query supervisor of ``kazdata serve`` (two query processes) on a release and times,
in this process, ``ProcessBackend.query`` of ``ASK {}`` (nothing to evaluate, so the figure is the
hand-off itself: frames, the supervisor's hand-over, the answer's header) three ways, in
alternating rounds so that the machine's load falls on all three alike:

- ``kept``: the thread keeps its connection between queries (what a web worker does);
- ``new connection``: the kept connection is dropped before each query, so each one connects
  and is accepted and peer-checked by the supervisor (what a web worker did until issue 20);
- ``in process``: ``InProcessBackend`` evaluating in a thread of this process (no hand-off: the floor).

Prints the median and the 10th percentile in µs for each, per round and over all rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c


def _timed(ask, queries: int) -> list[float]:
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        ask()
        times.append((time.perf_counter() - started) * 1e6)
    return times


def run(release: Path, queries: int, rounds: int) -> list[list]:
    from kazdata.release.opened import open_release, release_stamp
    from kazdata.runtime.query_client import ProcessBackend
    from kazdata.runtime.query_service import QueryService
    from kazdata.settings import load_settings
    from kazdata.sparql.backends import open_backend
    from kazdata.sparql.policy import QueryRequest

    settings = load_settings({"release": release, "query_processes": 2}, environ={})
    service = QueryService.start(settings)
    try:
        kept = ProcessBackend(service.socket_path)
        fresh = ProcessBackend(service.socket_path)
        in_process = open_backend(settings, open_release(release_stamp(release), "quick"))
        ask = QueryRequest("ASK {}")

        def new_connection():
            fresh._threads.kept = None  # closed: the next query connects anew
            fresh.query(ask, limit=10, timeout=5.0)

        ways = {"kept": lambda: kept.query(ask, limit=10, timeout=5.0), "new connection": new_connection,
                "in process": lambda: in_process.query(ask, limit=10, timeout=5.0)}
        for way in ways.values():
            _timed(way, 200)  # warm: every query process has answered, the verdict is cached
        seen: dict[str, list[float]] = {name: [] for name in ways}
        rows = []
        for number, name in enumerate(c.abba(list(ways), rounds)):
            times = _timed(ways[name], queries)
            seen[name] += times
            rows.append([f"round {number // len(ways) + 1}", name, f"{c.median(times):.0f}",
                         f"{c.percentile(times, 10):.0f}"])
        for name, times in seen.items():
            rows.append(["all", name, f"{c.median(times):.0f}", f"{c.percentile(times, 10):.0f}"])
        return rows
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_common_args(parser)
    parser.add_argument("--queries", type=int, default=2000, help="queries per way and round")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with c.release_dir(args.release) as release:
        c.emit(f"== hand-off of ASK {{}} to a query process, {args.queries} queries per way and round, "
               f"load average {c.loadavg()}")
        rows = run(release, args.queries, args.rounds)
        c.emit(c.table(["round", "way", "median µs", "p10 µs"], rows))
        c.emit(f"load average after: {c.loadavg()}")


if __name__ == "__main__":
    main()
