"""CPU time per SPARQL request, by process role: kazdata (one or more code trees) beside Oxigraph's server.

    python bench/sparql_cpu.py [--release DIR] [--code NAME=DIR ...] [--rounds 2] [--seconds 4]
        [--query 'ASK {}'] [--only 01-articles]

Throughput under 32 connections is what issue 20's aim counts (``bench/sparql.py`` part 3), but
on a machine shared with other work it swings with their load; the CPU a request costs does
not, much. This runs ``wrk -t2 -c32`` for ``--seconds`` on each query (``ASK {}`` and the
example queries matching ``--only``), after an unmeasured second of the same traffic, and reads
utime + stime of every process of each server before and after (``/proc/PID/stat``, and per
thread for granian's workers; a process that ended meanwhile is counted through its parent's
children's times, less what it had used before): the CPU of each role divided by the requests
wrk completed is the µs per request. kazdata's roles: granian's Rust threads (``tokio-rt-*``:
HTTP parsing and writing), the worker threads that run the WSGI app (Python, and granian's
Rust around each call), the query supervisor, the query processes, and the rest (the keeper,
granian's main process, a worker's main thread). Oxigraph's server is one process. Beside the
CPU it prints each role's voluntary context switches per request (``/proc/PID/task/TID/status``):
how often a thread slept and had to be woken, which load does not change and which is where a
hand-off between processes or threads costs most on this machine.

Each ``--code 'NAME=DIR [FLAGS]'`` starts a kazdata server with ``PYTHONPATH=DIR`` (and those
``kazdata serve`` flags) (a copy of another
commit's ``kazdata/`` beside this one's: A/B in one run, the servers taking turns round by
round); without it, the code this script runs with. kazdata serves with ``--queries-per-client
0``, as ``bench/sparql.py`` part 3 does: wrk's connections all come from one address.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c

JSON = {"Accept": "application/sparql-results+json"}
CONNECTIONS = 32
ROLES = ("granian Rust I/O", "WSGI threads", "supervisor", "query processes", "other", "Oxigraph's server")
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(path: str) -> tuple[str, int, float, float] | None:
    """(name, parent pid, own CPU s, reaped children's CPU s) from a /proc stat file."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    # fields from the state on: ppid is 1, utime 11, stime 12, cutime 13, cstime 14
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def _group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                text = Path(f"/proc/{entry}/stat").read_text()
                if int(text[text.rindex(")") + 2:].split()[2]) == pgid:
                    found.append(int(entry))
    return found


def _role(name: str, thread: str, first_runtime: bool, main: bool) -> str:
    """A thread's role. In a granian worker the tokio runtime's thread (the first ``tokio-*``
    one started) does the HTTP I/O; the threads it starts later, under the same name or the
    process's, are the blocking pool running the WSGI app (seen with ``py-spy dump``)."""
    if name == "kz-query-super":
        return "supervisor"
    if name == "kz-query":
        return "query processes"
    if name == "oxigraph":
        return "Oxigraph's server"
    if name.startswith("kz-http worker"):
        if main:
            return "other"
        return "granian Rust I/O" if thread.startswith("tokio") and first_runtime else "WSGI threads"
    return "other"


def sample(pgid: int) -> dict:
    """Every process of the group: its CPU per role (per thread where roles share a process;
    threads that ended count for the process's main thread), reaped children's CPU, parent."""
    processes = {}
    for pid in _group(pgid):
        own = _stat(f"/proc/{pid}/stat")
        if own is None:
            continue
        name, parent, cpu, children = own
        threads: list[int] = []
        with contextlib.suppress(OSError):
            threads = sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
        runtime = next((tid for tid in threads if (_stat(f"/proc/{pid}/task/{tid}/stat") or ("",))[0]
                        .startswith("tokio")), None)
        by_role: dict[str, float] = {}
        switches: dict[int, tuple[str, int]] = {}
        for tid in threads:
            thread = _stat(f"/proc/{pid}/task/{tid}/stat")
            if thread is not None:
                role = _role(name, thread[0], tid == runtime, tid == pid)
                by_role[role] = by_role.get(role, 0.0) + thread[2]
                switches[tid] = (role, _sleeps(f"/proc/{pid}/task/{tid}/status"))
        main = _role(name, name, False, True)
        by_role[main] = by_role.get(main, 0.0) + max(0.0, cpu - sum(by_role.values()))
        processes[pid] = {"name": name, "parent": parent, "roles": by_role, "children": children,
                          "switches": switches}
    return processes


def _sleeps(path: str) -> int:
    """A thread's voluntary context switches: how often it slept, each a wake-up to pay for."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        with open(path, encoding="ascii") as status:
            return int(next(line for line in status if line.startswith("voluntary_ctxt_switches")).split()[1])
    return 0


def sleeps_between(before: dict, after: dict) -> dict[str, int]:
    """Voluntary context switches per role between two samples, over the threads in both."""
    counted = dict.fromkeys(ROLES, 0)
    for pid, now in after.items():
        then = before.get(pid, {}).get("switches", {})
        for tid, (role, count) in now["switches"].items():
            if tid in then:
                counted[role] += count - then[tid][1]
    return counted


def _children_role(name: str) -> str:
    return {"kz-query-super": "query processes", "kz-http": "WSGI threads"}.get(name, "other")


def difference(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per role between two samples of one group."""
    used = dict.fromkeys(ROLES, 0.0)
    for pid, now in after.items():
        then = before.get(pid, {"roles": {}, "children": 0.0})
        for role, seconds in now["roles"].items():
            used[role] += seconds - then["roles"].get(role, 0.0)
        reaped = now["children"] - then["children"]
        # a child that ended between the samples is in ``children`` whole: less what it had used before
        reaped -= sum(sum(old["roles"].values()) + old["children"]
                      for old_pid, old in before.items() if old_pid not in after and old["parent"] == pid)
        used[_children_role(now["name"])] += reaped
    return used


def measure(pgid: int, base: str, target: str, seconds: int, label: str, connections: int = CONNECTIONS) -> dict:
    """wrk over ``connections`` for ``seconds``; CPU µs per completed request by role."""
    threads = min(2, connections)
    c.wrk(base, [target], JSON, threads=threads, connections=connections, duration=1, label=label + " warm-up")
    before, wrk_before = sample(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = c.wrk(base, [target], JSON, threads=threads, connections=connections, duration=seconds, label=label)
    after, wrk_after = sample(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
    requests = max(result["requests"], 1)
    used = difference(before, after)
    wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime)
    sleeps = sleeps_between(before, after)
    return {"rps": result["rps"], "requests": result["requests"], "errors": result["errors"] + result["non_2xx"],
            "sleeps": {role: count / requests for role, count in sleeps.items()},
            "total_sleeps": sum(sleeps.values()) / requests,
            "us": {role: 1e6 * seconds_ / requests for role, seconds_ in used.items()},
            "total_us": 1e6 * sum(used.values()) / requests, "wrk_us": 1e6 * wrk_cpu / requests,
            "load": c.loadavg()}


@contextlib.contextmanager
def servers(release: Path, codes: dict[str, tuple[Path | None, tuple[str, ...]]]) -> Iterator[dict[str, tuple[int, str]]]:
    """Each kazdata code tree and Oxigraph's server, started: name -> (process group, base URL)."""
    with tempfile.TemporaryDirectory(prefix="bench-sparql-cpu-") as tmp, contextlib.ExitStack() as stack:
        started = {}
        for name, (code, flags) in codes.items():
            env = dict(os.environ)
            if code is not None:
                env["PYTHONPATH"] = str(code)
            server, base = c.kazdata_server(release, workers=c.default_workers(), env=env,
                                            extra=("--queries-per-client", "0", *flags))
            stack.enter_context(server)
            assert server.proc is not None
            started[name] = (server.proc.pid, base)
        oxigraph, oxigraph_base = c.oxigraph_server(c.oxigraph_store(release, Path(tmp) / "oxigraph"))
        stack.enter_context(oxigraph)
        assert oxigraph.proc is not None
        started["oxigraph"] = (oxigraph.proc.pid, oxigraph_base)
        yield started


def targets(release: Path, query: str, only: str) -> dict[str, tuple[str, str]]:
    """Query name -> (kazdata's path, Oxigraph's path)."""
    found = {query: ("/sparql?query=" + quote(query), "/query?query=" + quote(c.with_prefixes(query)))}
    for path in sorted((release / "queries").glob(only + ".rq")) if only else []:
        text = path.read_text(encoding="utf-8")
        found[path.stem] = ("/sparql?query=" + quote(text), "/query?query=" + quote(c.with_prefixes(text)))
    return found


def run(release: Path, codes: dict[str, tuple[Path | None, tuple[str, ...]]], *, rounds: int, seconds: int, query: str, only: str,
        connections: int = CONNECTIONS) -> dict:
    queries = targets(release, query, only)
    c.emit(f"\n== CPU per SPARQL request: {', '.join(queries)}; wrk -c{connections} for {seconds} s each, "
           f"{rounds} round(s), kazdata ({', '.join(codes)}) and Oxigraph's server taking turns ==")
    results: dict[str, dict[str, list[dict]]] = {q: {} for q in queries}
    with servers(release, codes) as started:
        names = list(started)
        for number in range(rounds):
            order = names if number % 2 == 0 else names[::-1]
            for qname, (ours, peers) in queries.items():
                for name in order:  # each query on every server back to back: the same load on each
                    pgid, base = started[name]
                    figures = measure(pgid, base, peers if name == "oxigraph" else ours, seconds, f"{qname} {name}",
                                      connections)
                    results[qname].setdefault(name, []).append(figures)
                    c.emit(f"round {number + 1} {qname:>16} {name:>10}: {figures['rps']:7.0f} req/s, "
                           f"{figures['total_us']:6.1f} µs CPU per request, errors {figures['errors']}, "
                           f"load {figures['load']}")
    for qname, by_server in results.items():
        _report(qname, by_server, names)
    return results


def _report(qname: str, by_server: dict[str, list[dict]], names: list[str]) -> None:
    rows = []
    for name in names:
        runs = by_server[name]
        roles = ROLES[-1:] if name == "oxigraph" else ROLES[:-1]
        cells = [f"{c.median([run['us'][role] for run in runs]):.1f}" if role in roles else "" for role in ROLES]
        rows.append([name, *cells, f"{c.median([run['total_us'] for run in runs]):.1f}",
                     f"{c.median([run['wrk_us'] for run in runs]):.1f}",
                     f"{c.median([run['rps'] for run in runs]):.0f}"])
    oxigraph_rps = c.median([run["rps"] for run in by_server["oxigraph"]])
    c.emit(c.table(["server", *(f"{role} µs" for role in ROLES), "total µs", "wrk µs", "req/s"], rows,
                   title=f"{qname}: CPU µs per request (median of the rounds)"))
    rows = [[name, *(f"{c.median([run['sleeps'][role] for run in by_server[name]]):.2f}" for role in ROLES),
             f"{c.median([run['total_sleeps'] for run in by_server[name]]):.2f}"] for name in names]
    c.emit(c.table(["server", *ROLES, "total"], rows,
                   title=f"{qname}: voluntary context switches (sleeps, each a wake-up) per request"))
    first = names[0]
    for name in names[:-1]:
        # paired by round: the two measured back to back, under the same load
        paired = [run["total_us"] / then["total_us"] for run, then in zip(by_server[name], by_server[first], strict=True)]
        versus = f"; CPU per request / {first}'s, per round: median {c.median(paired):.3f} " \
                 f"(from {min(paired):.3f} to {max(paired):.3f})" if name != first else ""
        c.emit(f"  {name}: share of Oxigraph's req/s {c.median([r['rps'] for r in by_server[name]]) / oxigraph_rps:.2f}x"
               + versus)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--code", action="append", default=[],
                        help="'NAME=DIR [FLAGS]': a kazdata server running the package in DIR ('.': this "
                        "one's), with `kazdata serve` FLAGS if given (repeatable)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help="wrk's connections (1: each request alone, no batching of wake-ups)")
    parser.add_argument("--seconds", type=int, default=4, help="length of each measured wrk run")
    parser.add_argument("--query", default="ASK {}", help="a query measured beside the example queries")
    parser.add_argument("--only", default="01-articles", help="the example queries whose name matches this glob "
                        "('' for none)")
    args = parser.parse_args(argv)
    codes: dict[str, tuple[Path | None, tuple[str, ...]]] = {}
    for given in args.code:
        name, _, folder = given.partition("=")
        folder, *flags = folder.split()
        codes[name] = (Path(folder).resolve() if folder != "." else None, tuple(flags))
    if not codes:
        codes["kazdata"] = (None, ())
    with c.release_dir(args.release) as release:
        results = run(release, codes, rounds=args.rounds, seconds=args.seconds, query=args.query, only=args.only,
                      connections=args.connections)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
