"""How long ``kazdata serve`` takes to answer SPARQL on a release, per backend and verify setting.

    python bench/startup.py RELEASE [--backends memory,disk] [--verify quick,full,off] [--runs 3]

RELEASE must have been built with ``--store`` for the disk backend (bench/scale.py keeps its
releases under kazdata-bench-scale/ in the temp folder). Start = process start until ``ASK {}`` answers 200;
the median of ``--runs`` starts is printed. Loopback only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c


def start_seconds(release: Path, backend: str, verify: str) -> float:
    port = c.free_port()
    argv = ["kazdata", "serve", "--release", str(release), "--host", c.HOST, "--port", str(port),
            "--backend", backend, "--verify", verify]
    started = time.perf_counter()
    server = c.Server(f"kazdata-{backend}", argv, f"http://{c.HOST}:{port}/sparql?query=" + quote("ASK {}"),
                      headers={"Accept": "application/sparql-results+json"}, ready_timeout=600)
    with server:
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release")
    parser.add_argument("--backends", default="memory,disk")
    parser.add_argument("--verify", default="quick,full,off", help="verify levels to start with")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for backend in args.backends.split(","):
        for verify in args.verify.split(","):
            times = [start_seconds(Path(args.release), backend, verify) for _ in range(args.runs)]
            rows.append([backend, verify, f"{c.median(times):.2f}", f"{min(times):.2f}"])
    c.emit(c.table(["backend", "--verify", "median start s", "fastest s"], rows,
                   title=f"kazdata serve start-up on {args.release} ({args.runs} starts each, "
                   f"load average {c.loadavg()})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
