"""Run the benchmarks and print one summary: the bundled dataset, then each scale and backend.

Builds the bundled dataset with ``kazdata build`` into a temp dir, then runs bench/servers.py,
bench/dereference.py and bench/sparql.py in sequence (each prints its own tables), then the
machine, the versions, the date and a summary table with the aims. Then bench/scale.py for
``--scales`` (default 10^4, 10^5 and 10^6 triples of generated data, on the memory, disk and
remote backends, beside Oxigraph's server, nginx and rdflib; ``--scales none`` skips it).

    python bench/run.py [--release DIR] [--quick] [--scales 1e4,1e5,1e6] [--json results.json]

``--quick`` shortens every run (3 s wrk runs, 5 query runs, 8 s light traffic, 1 server
round) to check that everything works; its figures are not for publication.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as c
import dereference
import scale
import servers
import sparql

LIGHT_AIM_RATIO = 2.0  # the target bench/load.py states: p99 beside heavy load at most 2x the p99 alone


def _command_version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def machine() -> list[tuple[str, str]]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = _command_version(["nproc"])
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return [("nproc", nproc), ("CPU model", model), ("memory", mem),
            ("kernel", platform.release()), ("OS", _os_name())]


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def versions() -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for package in ("kazdata", "pyoxigraph", "rdflib", "flask", "werkzeug", "gunicorn", "granian",
                    "oxigraph", "requests"):
        try:
            out.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            out.append((package, "not installed"))
    out.append(("oxigraph CLI", _command_version(["oxigraph", "--version"])))
    out.append(("nginx -v", _command_version(["nginx", "-v"])))
    out.append(("wrk -v", _command_version(["wrk", "-v"])))
    return out


def contention(s: dict, d: dict, q: dict) -> str:
    """How much CPU other processes on the machine took while each part ran."""
    rows = []
    parts = (("servers", s["cpu"]), ("dereference", d["cpu"]),
             ("sparql: example queries", q["timings"]["cpu"]), ("sparql: light traffic", q["light"]["cpu"]))
    for name, cpu in parts:
        rows.append([name, cpu["wall_s"], cpu["ours_cpu_s"], cpu["others_cpu_s"], cpu["others_cores"],
                     cpu["steal_cpu_s"]])
    return c.table(["part", "wall s", "CPU s (benchmark)", "CPU s (other processes)",
                    "other processes, cores", "steal CPU s"], rows,
                   title="Machine load during each part (2 cores = 2 CPU s per second)")


def _figures(r: dict) -> str:
    return f"{r['rps']:.0f} req/s; p50 {r['p50_ms']:.1f} ms; p99 {r['p99_ms']:.1f} ms"


def summary(s: dict, d: dict, q: dict) -> str:
    g, r = s["summary"]["gunicorn"], s["summary"]["granian"]
    dr = d["results"]
    t, light = q["timings"], q["light"]
    rows = [
        ["servers", f"/doc/ Turtle, gunicorn vs granian ({s['workers']}x{s['threads']})",
         f"{g['doc']['rps']:.0f} vs {r['doc']['rps']:.0f} req/s; p99 {g['doc']['p99_ms']:.1f} vs "
         f"{r['doc']['p99_ms']:.1f} ms",
         f"granian/gunicorn {c.ratio(r['doc']['rps'], g['doc']['rps']):.2f}x req/s"],
        ["servers", "cheap SPARQL GET, gunicorn vs granian",
         f"{g['sparql']['rps']:.0f} vs {r['sparql']['rps']:.0f} req/s; p99 {g['sparql']['p99_ms']:.1f} vs "
         f"{r['sparql']['p99_ms']:.1f} ms",
         f"granian/gunicorn {c.ratio(r['sparql']['rps'], g['sparql']['rps']):.2f}x req/s"],
        ["dereference", "kazdata /doc/ (kazdata serve: gunicorn)", _figures(dr["kazdata"]), ""],
        ["dereference", "Oxigraph DESCRIBE", _figures(dr["oxigraph"]),
         f"kazdata/oxigraph {d['kazdata_vs_oxigraph']:.2f}x"],
        ["dereference", "nginx static .ttl", _figures(dr["nginx"]),
         f"kazdata/nginx {d['kazdata_vs_nginx']:.3f}x"],
        ["sparql", f"{len(t['queries'])} example queries, medians",
         "sum of medians " + ", ".join(f"{e} {v:.1f} ms" for e, v in t["sum_of_medians_ms"].items()),
         f"kazdata/oxigraph geomean {t['kazdata_vs_oxigraph_geomean']:.2f}x (max {t['kazdata_vs_oxigraph_max']:.2f}x); "
         f"rdflib/kazdata geomean {t['rdflib_vs_kazdata_geomean']:.1f}x"],
        ["light traffic", "/doc/ p99 alone vs beside 4 heavy queries",
         f"{light['doc']['alone_p99_ms']:.1f} vs {light['doc']['heavy_p99_ms']:.1f} ms "
         f"(max {light['doc']['alone_max_ms']:.0f} vs {light['doc']['heavy_max_ms']:.0f} ms)",
         f"{light['doc']['ratio_p99']:.1f}x"],
        ["light traffic", "cheap SPARQL p99 alone vs beside 4 heavy queries",
         f"{light['sparql']['alone_p99_ms']:.1f} vs {light['sparql']['heavy_p99_ms']:.1f} ms "
         f"(max {light['sparql']['alone_max_ms']:.0f} vs {light['sparql']['heavy_max_ms']:.0f} ms)",
         f"{light['sparql']['ratio_p99']:.1f}x"],
    ]
    light_worst = max(light["doc"]["ratio_p99"], light["sparql"]["ratio_p99"])
    aims = [
        ["kazdata /doc/ >= 0.5x Oxigraph DESCRIBE req/s", f"{d['kazdata_vs_oxigraph']:.2f}x",
         "met" if d["aim_ratio_met"] else "MISSED"],
        ["kazdata /doc/ p99 < 20 ms (32 connections)", f"{dr['kazdata']['p99_ms']:.1f} ms",
         "met" if d["aim_p99_met"] else "MISSED"],
        [f"SPARQL medians within {sparql.AIM_SPARQL_RATIO}x of Oxigraph server (every query)",
         f"{t['within_aim']} of {t['answered_by_both']} within; geomean {t['kazdata_vs_oxigraph_geomean']:.2f}x",
         "met" if t["aim_met"] else "MISSED"],
        [f"light-traffic p99 beside heavy queries <= {LIGHT_AIM_RATIO:g}x p99 alone (bench/load.py target)",
         f"/doc/ {light['doc']['ratio_p99']:.1f}x, SPARQL {light['sparql']['ratio_p99']:.1f}x",
         "met" if light_worst <= LIGHT_AIM_RATIO else "MISSED"],
    ]
    verdicts = []
    for kind, label in (("doc", "/doc/ Turtle"), ("sparql", "cheap SPARQL GET")):
        gr, rr = g[kind]["rps"], r[kind]["rps"]
        faster = "granian" if rr > gr else "gunicorn"
        verdicts.append(f"{label}: {faster} faster, {max(gr, rr) / min(gr, rr):.2f}x the req/s of the other")
    return "\n\n".join([
        c.table(["part", "measurement", "figures", "ratio"], rows, title="SUMMARY"),
        c.table(["aim", "measured", "verdict"], aims, title="Aims"),
        "Production server: " + "; ".join(verdicts) + ".",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--quick", action="store_true", help="short runs, to check that everything works")
    parser.add_argument("--scales", default="1e4,1e5,1e6", help="scales for bench/scale.py, or 'none'")
    parser.add_argument("--wait-quiet", type=float, default=60.0,
                        help="first wait up to this many seconds for the 1-minute load average to drop below 1")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    when = datetime.datetime.now(datetime.UTC)
    c.emit(f"kazdata benchmarks, {when:%Y-%m-%d %H:%M UTC}")
    duration = 3 if args.quick else 10
    code = tempfile.TemporaryDirectory(prefix="kazdata-bench-code-")
    snapshot = c.snapshot_code(Path(code.name) / "code")
    fingerprint = c.code_fingerprint(snapshot)
    git = c.git_state()
    c.emit(f"code under test: {git}; copied to {snapshot} (fingerprint {fingerprint}); "
           "every server of this run imports that copy")
    c.wait_for_quiet(args.wait_quiet)
    with code, c.release_dir(args.release) as release:
        s = servers.run(release, duration=duration, rounds=1 if args.quick else 2)
        d = dereference.run(release, duration=duration)
        q = sparql.run(release, runs=5 if args.quick else 20, light_seconds=8 if args.quick else 20)
    c.emit("\n== machine ==")
    c.emit(c.table(["", "value"], [list(row) for row in machine()]))
    c.emit("\n== versions ==")
    c.emit(c.table(["software", "version"], [list(row) for row in versions()]))
    c.emit(f"\ndate: {when:%Y-%m-%d %H:%M UTC}; total run time {time.perf_counter() - started:.0f} s")
    now = c.code_fingerprint(c.REPO)
    c.emit(f"code under test: fingerprint {fingerprint} (working tree now {now}"
           + (", changed during the run; the figures are for the copy)" if now != fingerprint else ", unchanged)"))
    c.emit()
    c.emit(contention(s, d, q))
    c.emit()
    c.emit(summary(s, d, q))
    c.write_json(args.json, {"date": when.isoformat(), "code": {"git": git, "fingerprint": fingerprint},
                             "machine": machine(), "versions": versions(),
                             "servers": s, "dereference": d, "sparql": q})
    if args.scales != "none":
        c.emit("\n== scales and backends (bench/scale.py) ==")
        scale.main(["--scales", args.scales] + (["--seconds", "3", "--runs", "5"] if args.quick else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
