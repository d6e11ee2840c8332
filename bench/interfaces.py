"""granian's WSGI interface against kazdata's RSGI bridge, in the same run (decision 022).

    python bench/interfaces.py [--release DIR] [--workers 1] [--seconds 8] [--rounds 2] [--stalled 200]

Starts ``kazdata serve --server granian`` (WSGI) and ``--server granian-rsgi`` (the bridge of
``kazdata.web.rsgi``) on one release (the bundled dataset's, built under /tmp when not given),
both with the same workers and threads, and runs wrk -t1 on each in turn, the order reversed
every other round: ``/doc/place/aktau`` as Turtle at 8 and 32 connections, ``/sparql?query=ASK{}``
at 8, the N-Triples dump at 8, and ``/doc/`` at 8 while ``--stalled`` connections hold a POST
body open (announce 100 kB, send three bytes, stop). Figures are medians of the rounds; the
ratio is RSGI's req/s over WSGI's.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c

SERVERS = ("granian", "granian-rsgi")
TURTLE = {"Accept": "text/turtle"}
RESULTS = {"Accept": "application/sparql-results+json"}
#: (label, path, headers, connections, stalled bodies held open meanwhile)
LOADS = [("/doc/ Turtle -c8", "/doc/place/aktau", TURTLE, 8, False),
         ("/doc/ Turtle -c32", "/doc/place/aktau", TURTLE, 32, False),
         ("ASK {} -c8", "/sparql?query=ASK%7B%7D", RESULTS, 8, False),
         ("dump .nt -c8", "/dumps/kazdata.nt", {}, 8, False),
         ("/doc/ -c8, stalled bodies", "/doc/place/aktau", TURTLE, 8, True)]


@contextmanager
def stalled_bodies(base: str, count: int):
    """``count`` connections that announce a 100 kB POST body, send three bytes and stop."""
    host, port = base.removeprefix("http://").split(":")
    held = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: 100000\r\n\r\nASK")
            held.append(sock)
        time.sleep(0.5)
        yield held
    finally:
        for sock in held:
            sock.close()


def run(release: Path, *, workers: int, threads: int, seconds: int, rounds: int, stalled: int,
        only: str = "") -> dict:
    loads = [load for load in LOADS if only in load[0]]
    running = {name: c.kazdata_server(release, workers=workers, threads=threads, server=name,
                                      extra=("--body-timeout", "600")) for name in SERVERS}
    c.emit(f"== granian WSGI vs RSGI bridge on {release}, {workers}x{threads}, wrk -t1 -d{seconds}s, "
           f"{rounds} round(s); load average {c.loadavg()} ==")
    runs: dict[tuple[str, str], list[dict]] = {}
    started = []
    try:
        for server, _base in running.values():
            server.__enter__()
            started.append(server)
        for _server, base in running.values():
            c.check_urls(base, ["/doc/place/aktau"], TURTLE, "text/turtle")
            c.warm_up(base, ["/doc/place/aktau"], TURTLE)
        for label, path, headers, connections, with_stalled in loads:
            for name in c.abba(list(SERVERS), rounds):
                base = running[name][1]
                with stalled_bodies(base, stalled if with_stalled else 0):
                    result = c.wrk(base, [path], headers, threads=1, connections=connections,
                                   duration=seconds, label=f"{name} {label}")
                runs.setdefault((label, name), []).append(result)
                c.emit(f"  {name:13} {label:26} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:6.1f} ms  "
                       f"errors+non-2xx {result['errors'] + result['non_2xx']}  (load {c.loadavg()})")
    finally:
        for server in started:
            server.__exit__(None, None, None)
    summary = {key: c.combine(results) for key, results in runs.items()}
    rows = []
    for label, *_ in loads:
        wsgi, rsgi = summary[(label, "granian")], summary[(label, "granian-rsgi")]
        rows.append([label, wsgi["rps"], rsgi["rps"], f"{c.ratio(rsgi['rps'], wsgi['rps']):.2f}",
                     wsgi["p99_ms"], rsgi["p99_ms"], wsgi["errors"] + wsgi["non_2xx"],
                     rsgi["errors"] + rsgi["non_2xx"]])
    c.emit()
    c.emit(c.table(["load", "WSGI req/s", "RSGI req/s", "RSGI/WSGI", "WSGI p99 ms", "RSGI p99 ms",
                    "WSGI errors", "RSGI errors"], rows,
                   title=f"granian WSGI vs RSGI bridge, {workers}x{threads}, median of {rounds} round(s), "
                         f"{stalled} stalled bodies in the last row"))
    c.emit(f"load average at the end {c.loadavg()}")
    return {"release": str(release), "runs": {f"{k[1]} {k[0]}": v for k, v in runs.items()}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", help="a release directory (default: the bundled dataset's, built once)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stalled", type=int, default=200)
    parser.add_argument("--only", default="", help="only the loads whose label holds this text")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    release = Path(args.release) if args.release else Path(tempfile.gettempdir()) / "kazdata-bench-interfaces"
    if not (release / "SHA256SUMS").is_file():
        c.build_release(release)
    results = run(release.resolve(), workers=args.workers, threads=args.threads, seconds=args.seconds,
                  rounds=args.rounds, stalled=args.stalled, only=args.only)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
