"""`kazdata build` at 10^4, 10^5 and 10^6 triples: time per step, peak memory, release size,
server start-up.

For each size, synthetic sources (``kazdata generate``, cached in ``--cache``) are built in a
child process; the figures are the build's own ``step: done in X s`` lines, the peak of the
summed resident memory of the build and its worker processes (sampled every 0.1 s; forked
workers share pages, so the sum is an upper bound) and of its largest process, the release's
bytes on disk and file count, and how long ``kazdata serve`` takes to answer ``/`` and then a
first ``/doc/``. By default the build starts after validation (``write_release``), which is
another benchmark's subject; ``--validate`` runs the whole ``kazdata build``.

    python bench/build.py [--sizes 10000,100000,1000000] [--validate] [--store] [--json bench/results/build.json]

Aim: 10^6 triples in at most 90 s and 3 GiB on 2 cores (issue 5); with validation (`--validate`), at
most 60 s (issue 13).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c

from kazdata.release.opened import Release

#: Triples per synthetic event, shared places and people included (measured: 1,173,416 at 25,000 events).
TRIPLES_PER_EVENT = 47
STEP = re.compile(r"^\s+(.+): done in ([0-9.]+) s \(CPU ([0-9.]+) s")


def sources_for(triples: int, cache: Path) -> Path:
    """Synthetic sources of about ``triples`` triples, generated once into ``cache``."""
    events = max(1, round(triples / TRIPLES_PER_EVENT))
    target = cache / f"sources-{events}-events"
    if not (target / "synthetic-world.ttl").is_file():
        subprocess.run(["kazdata", "generate", "--events", str(events), str(target)], check=True,
                       stdout=subprocess.DEVNULL)
    return target


def _session_rss(session: int) -> tuple[int, int]:
    """(sum, max) resident bytes of the processes of a session."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = largest = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != session:  # field 6 of stat: the session id
                continue
            rss = int(Path(entry.path, "statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def run_build(sources: Path, release: Path, validate: bool, store: bool = False) -> dict:
    """Build in a child process of its own session; return its steps, wall time and peak memory."""
    if validate:
        argv = ["kazdata", "build", str(release), "--sources", str(sources), *(["--store"] if store else [])]
    else:
        code = ("import sys; from pathlib import Path; from kazdata.builder import write_release; "
                "from kazdata.sources.curated import discover_sources; "
                "write_release(Path(sys.argv[1]), discover_sources(Path(sys.argv[2])), with_store=sys.argv[3] == 'store')")
        argv = [sys.executable, "-c", code, str(release), str(sources), "store" if store else "no-store"]
    meter = c.CpuMeter()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    peaks = {"sum": 0, "max": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, largest = _session_rss(proc.pid)
            peaks["sum"], peaks["max"] = max(peaks["sum"], total), max(peaks["max"], largest)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"build failed:\n{err[-3000:]}")
    steps = {m.group(1): (float(m.group(2)), float(m.group(3))) for line in err.splitlines() if (m := STEP.match(line))}
    cpu = meter.read()
    return {"wall_s": wall, "steps": steps, "peak_rss_sum_mib": peaks["sum"] / 2**20,
            "peak_rss_largest_mib": peaks["max"] / 2**20, "cpu_ours_s": cpu["ours_cpu_s"],
            "cpu_others_s": cpu["others_cpu_s"]}


def release_size(release: Path) -> tuple[int, int]:
    files = [p for p in release.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def start_up(release: Path) -> dict:
    """Seconds from `kazdata serve` to the first answer on `/`, and to a first entity document;
    and what opening the release takes of that: unverified, with the quick check (one stat per
    file against the record the build wrote) and with every byte hashed; the rest is mostly the
    SPARQL engine loading ``kazdata.nq`` into Oxigraph."""
    code = ("import sys, time; from kazdata.release.opened import Release; t = [time.perf_counter()]\n"
            "for level in ('off', 'quick', 'full'):\n"
            "    Release(sys.argv[1], verify=level); t.append(time.perf_counter())\n"
            "print(*(b - a for a, b in zip(t, t[1:])))")
    opened = subprocess.run([sys.executable, "-c", code, str(release)], check=True, capture_output=True, text=True)
    open_s, open_quick_s, open_verified_s = (float(v) for v in opened.stdout.split())
    port = c.free_port()
    base = f"http://{c.HOST}:{port}"
    entity = list(Release(release).entities)[-1]
    started = time.perf_counter()
    with c.Server("kazdata", ["kazdata", "serve", "--release", str(release), "--host", c.HOST, "--port",
                              str(port), "--workers", "2"], base + "/", ready_timeout=300):
        ready = time.perf_counter() - started
        first = time.perf_counter()
        response = requests.get(f"{base}/doc/{entity}", headers={"Accept": "text/html"}, timeout=60)
        html = time.perf_counter() - first
        assert response.status_code == 200, response.status_code
        again = time.perf_counter()
        requests.get(f"{base}/doc/{entity}", headers={"Accept": "text/html"}, timeout=60)
        cached = time.perf_counter() - again
    return {"ready_s": ready, "first_html_s": html, "cached_html_s": cached, "release_open_s": open_s,
            "release_open_quick_s": open_quick_s, "release_open_verified_s": open_verified_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="triples, comma-separated")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "kazdata-bench-build"), help="where sources and releases go")
    parser.add_argument("--validate", action="store_true", help="run the whole `kazdata build`, validation too")
    parser.add_argument("--store", action="store_true", help="also write the on-disk store (`--store`)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = {"load_average_before": c.loadavg(), "validate": args.validate, "sizes": {}}
    for triples in (int(size) for size in args.sizes.split(",")):
        sources = sources_for(triples, cache)
        release = cache / f"release-{triples}"
        shutil.rmtree(release, ignore_errors=True)
        c.emit(f"building ~{triples:,} triples from {sources} (load average {c.loadavg()})")
        built = run_build(sources, release, args.validate, args.store)
        size, files = release_size(release)
        served = start_up(release)
        results["sizes"][triples] = {**built, "release_bytes": size, "release_files": files, **served}
        c.emit(c.table(["step", "wall s", "CPU s"], [[name, wall, cpu] for name, (wall, cpu) in built["steps"].items()]
                       + [["total", built["wall_s"], built["cpu_ours_s"]]]))
        c.emit(f"  peak RSS {built['peak_rss_sum_mib']:.0f} MiB summed over processes "
               f"(largest process {built['peak_rss_largest_mib']:.0f} MiB); CPU: ours {built['cpu_ours_s']:.0f} s, "
               f"other processes {built['cpu_others_s']:.0f} s")
        c.emit(f"  release: {size / 2**20:.1f} MiB in {files} files; server ready in {served['ready_s']:.1f} s, "
               f"first HTML document {served['first_html_s'] * 1000:.0f} ms, cached {served['cached_html_s'] * 1000:.0f} ms; "
               f"opening the release takes {served['release_open_s']:.3f} s, {served['release_open_quick_s']:.3f} s "
               f"with the quick check, {served['release_open_verified_s']:.1f} s with every byte hashed")
    rows = [[f"{t:,}", r["wall_s"], r["peak_rss_sum_mib"], r["peak_rss_largest_mib"], r["release_bytes"] / 2**20,
             r["release_files"], r["ready_s"]] for t, r in results["sizes"].items()]
    c.emit(c.table(["triples", "build s", "peak RSS sum MiB", "largest MiB", "release MiB", "files", "start-up s"],
                   rows, title="kazdata build" + (" (with validation)" if args.validate else " (after validation)")))
    c.write_json(args.json, results)


if __name__ == "__main__":
    main()
