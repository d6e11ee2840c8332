"""Shared helpers for the benchmark scripts: releases, servers, wrk, tables.

Everything binds to 127.0.0.1 on a free port, every child process is started in its own
process group and stopped by that group's id, and every load run has a fixed duration.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HOST = "127.0.0.1"


# --- releases -----------------------------------------------------------------------------

def build_release(target: Path) -> Path:
    """Run ``kazdata build TARGET`` (the bundled dataset) and return the release directory."""
    started = time.perf_counter()
    subprocess.run(["kazdata", "build", str(target)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=300)
    print(f"built release {target} in {time.perf_counter() - started:.1f} s", flush=True)
    return target


@contextlib.contextmanager
def release_dir(given: str | None):
    """The release to benchmark: ``given`` if set, else a fresh build in a temp dir."""
    if given:
        yield Path(given).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="kazdata-bench-") as tmp:
        yield build_release(Path(tmp) / "release")


def entity_index(release: Path) -> list[dict]:
    """Every entity's index entry, in path order."""
    from kazdata.release.opened import Release
    return list(Release(release).entities.values())


def sample_entities(release: Path, count: int = 12) -> list[dict]:
    """Up to ``count`` entities, round-robin over kinds so that every kind is represented."""
    by_kind: dict[str, list[dict]] = {}
    for entry in sorted(entity_index(release), key=lambda e: e["path"]):
        by_kind.setdefault(entry["kind"], []).append(entry)
    chosen: list[dict] = []
    while len(chosen) < count and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(chosen) < count:
                chosen.append(by_kind[kind].pop(0))
    return chosen


def cheap_query(release: Path) -> str:
    """A one-pattern lookup on one entity (kept in the predeclared-prefix style of the examples)."""
    iri = next((e["iri"] for e in entity_index(release) if e["path"] == "place/aktau"),
               entity_index(release)[0]["iri"])
    return f"SELECT ?name WHERE {{ <{iri}> schema:name ?name }}"


def with_prefixes(query: str) -> str:
    """``query`` with the predeclared prefixes written out, for engines that do not predeclare them."""
    from kazdata.vocabulary import PREFIXES
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items()) + query


# --- a frozen copy of the code under test -------------------------------------------------

SNAPSHOT_PARTS = ("kazdata", "ontology", "shapes", "data")


def code_fingerprint(root: Path) -> str:
    """sha256 (first 12 hex digits) over the files of the package and its bundled folders."""
    import hashlib
    digest = hashlib.sha256()
    for part in SNAPSHOT_PARTS:
        for path in sorted((root / part).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def git_state() -> str:
    """The commit checked out and how many files of the code under test differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", *SNAPSHOT_PARTS],
                               capture_output=True, text=True, timeout=20).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head}" + (f" + {len(dirty)} uncommitted file(s) in {'/'.join(SNAPSHOT_PARTS)}" if dirty else " (clean)")


def snapshot_code(target: Path) -> Path:
    """Copy the code under test to ``target`` and make every later import and child use it.

    The repository may change while a run takes minutes (an editable install reads the working
    tree whenever a server starts); a copy taken once keeps every server of a run on the same code.
    """
    target.mkdir(parents=True, exist_ok=True)
    for part in SNAPSHOT_PARTS:
        shutil.copytree(REPO / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(target))
    if "kazdata" in sys.modules:
        raise RuntimeError("kazdata was imported before the snapshot; import it only afterwards")
    return target


# --- processes ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A child process in its own process group, stopped by that group id."""

    def __init__(self, name: str, argv: list[str], ready_url: str, *, env: dict | None = None,
                 cwd: Path | None = None, log_dir: Path | None = None, headers: dict | None = None,
                 ready_timeout: float = 60.0) -> None:
        self.name = name
        self.argv = argv
        self.ready_url = ready_url
        self.env = env
        self.cwd = cwd
        self.headers = headers or {}
        self.ready_timeout = ready_timeout
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log = open(self.log_dir / f"{self.name}.log", "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if requests.get(self.ready_url, headers=self.headers, timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {self.ready_timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        self.log.flush()
        text = (self.log_dir / f"{self.name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the child's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # gunicorn workers or nginx workers of the group may outlive the parent by a moment
        for _ in range(50):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.close()
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def default_workers() -> int:
    from kazdata.settings import load_settings
    return load_settings({}, environ={}).workers


def default_threads() -> int:
    from kazdata.settings import load_settings
    return load_settings({}, environ={}).threads


def kazdata_server(release: Path, *, workers: int, threads: int | None = None,
                   query_timeout: float | None = None, server: str | None = None,
                   extra: tuple[str, ...] = (), env: dict | None = None) -> tuple[Server, str]:
    """``kazdata serve``, exactly as the CLI runs it; ``server`` None means kazdata's default;
    ``extra`` flags are added as given (``--access-log FILE``); ``env`` replaces the environment
    (``PYTHONPATH`` naming another code tree)."""
    port = free_port()
    argv = ["kazdata", "serve", "--release", str(release), "--host", HOST, "--port", str(port),
            "--workers", str(workers)]
    if server is not None:
        argv += ["--server", server]
    if threads is not None:
        argv += ["--threads", str(threads)]
    if query_timeout is not None:
        argv += ["--query-timeout", str(query_timeout)]
    argv += list(extra)
    base = f"http://{HOST}:{port}"
    return Server(f"kazdata-{server or 'default'}", argv, base + "/dataset", headers={"Accept": "text/turtle"},
                  env=env), base


def oxigraph_store(release: Path, location: Path) -> Path:
    """Load the release's N-Quads into a fresh Oxigraph store at ``location`` and optimise it."""
    started = time.perf_counter()
    subprocess.run(["oxigraph", "load", "--location", str(location),
                    "--file", str(release / "dumps" / "kazdata.nq")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    subprocess.run(["oxigraph", "optimize", "--location", str(location)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    print(f"loaded {release / 'dumps' / 'kazdata.nq'} into Oxigraph in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return location


def oxigraph_server(location: Path) -> tuple[Server, str]:
    """``oxigraph serve-read-only`` with ``--union-default-graph``: the default graph is the
    union of all graphs, which is what kazdata's /sparql gives when no dataset is named."""
    port = free_port()
    argv = ["oxigraph", "serve-read-only", "--location", str(location),
            "--bind", f"{HOST}:{port}", "--union-default-graph"]
    base = f"http://{HOST}:{port}"
    ready = base + "/query?query=" + quote("ASK {}")
    return Server("oxigraph", argv, ready, headers={"Accept": "application/sparql-results+json"}), base


def export_turtle_documents(release: Path, target: Path) -> Path:
    """Every entity's Turtle document as ``target/{kind}/{slug}.ttl`` (the bytes kazdata sends),
    and ``target/index.json`` (the release's ``docs/release.json``, what nginx is polled for until
    it answers): entity documents are rendered by the release, not stored as files."""
    from kazdata.release.opened import Release
    opened = Release(release)
    for path in opened.entities:
        file = target / f"{path}.ttl"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(opened.read(f"docs/{path}.ttl"))
    shutil.copyfile(release / "docs" / "release.json", target / "index.json")
    return target


def nginx_server(release: Path, workdir: Path, workers: int = 0) -> tuple[Server, str]:
    """nginx serving the release's Turtle documents as static files at ``/doc/{kind}/{slug}.ttl``."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    docs = export_turtle_documents(release, workdir / "docs")
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / sub).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # temp dirs are 0700: workers must read them
    conf = workdir / "nginx.conf"
    conf.write_text(f"""{user}worker_processes {workers or 'auto'};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/turtle ttl; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/turtle;
    access_log {workdir}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server {{
        listen {HOST}:{port};
        location /doc/ {{ alias {docs}/; }}
    }}
}}
""")
    argv = ["nginx", "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf),
            "-g", "daemon off;"]
    base = f"http://{HOST}:{port}"
    return Server("nginx", argv, base + "/doc/index.json", log_dir=workdir), base


# --- wrk ----------------------------------------------------------------------------------

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk_script(paths: list[str], headers: dict[str, str]) -> str:
    """A wrk Lua script that rotates over ``paths`` (each thread from a different start)."""
    return wrk_requests_script([(path, headers) for path in paths])


def wrk_requests_script(requests_: list[tuple[str, dict[str, str]]]) -> str:
    """A wrk Lua script that rotates over ``(path, headers)`` pairs, each with its own headers."""
    entries = ",\n  ".join(
        "{" + _lua_string(path) + ", {" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}"
                                                   for k, v in headers.items()) + "}}"
        for path, headers in requests_)
    return f"""local entries = {{
  {entries}
}}
local counter = 0
local thread_count = 0
setup = function(thread)
  thread:set("offset", thread_count)
  thread_count = thread_count + 1
end
init = function(args)
  counter = (offset or 0) * 7
end
request = function()
  counter = counter + 1
  local entry = entries[(counter % #entries) + 1]
  return wrk.format("GET", entry[1], entry[2])
end
""" + _LUA_DONE


def wrk(base: str, paths: list[str], headers: dict[str, str], *, threads: int = 2,
        connections: int = 32, duration: int = 10, label: str = "", script: str | None = None) -> dict:
    """Run wrk for ``duration`` seconds against ``base`` + rotating ``paths``; return figures.

    ``script`` replaces the generated rotation (see ``wrk_requests_script``)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or wrk_script(paths, headers))
        script = handle.name
    try:
        proc = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                               "--timeout", "10s", "-s", script, base + paths[0]],
                              capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script)
    line = next((out for out in proc.stdout.splitlines() if out.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result for {label or base}:\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(line[len("WRKJSON "):])
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "label": label,
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "requests": raw["requests"],
        "bytes_per_req": raw["bytes"] / max(raw["requests"], 1),
        "errors": errors,
        "non_2xx": raw["status"],
    }


def combine(runs: list[dict]) -> dict:
    """Several rounds of the same wrk measurement: the median of each figure, errors summed."""
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "bytes_per_req")
    merged = {key: median([run[key] for run in runs]) for key in keys}
    merged["errors"] = sum(run["errors"] for run in runs)
    merged["non_2xx"] = sum(run["non_2xx"] for run in runs)
    merged["rounds"] = len(runs)
    return merged


def abba(names: list[str], rounds: int) -> list[str]:
    """Run order for ``rounds`` rounds, reversed every other round (A B, B A, A B ...)."""
    return [name for i in range(rounds) for name in (names if i % 2 == 0 else names[::-1])]


def check_urls(base: str, paths: list[str], headers: dict[str, str], expect_type: str) -> None:
    """Fail early unless every URL answers 200 with the expected content type."""
    for path in paths:
        response = requests.get(base + path, headers=headers, timeout=30)
        media = response.headers.get("Content-Type", "")
        if response.status_code != 200 or not media.startswith(expect_type):
            raise RuntimeError(f"{base}{path}: {response.status_code} {media!r}: {response.text[:300]}")


def warm_up(base: str, paths: list[str], headers: dict[str, str], seconds: int = 2) -> None:
    """A short wrk run so that every worker has imported, opened and cached what it needs."""
    wrk(base, paths, headers, threads=2, connections=8, duration=seconds, label="warm-up")


# --- numbers and tables -------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (for N=20, p99 is the largest value)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-pct * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = []
    if title:
        out.append(title)
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        out.append("| " + " | ".join(c.rjust(w) if _numeric(c) else c.ljust(w)
                                     for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)


def _cell(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("x", "").lstrip("-").isdigit()


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


class CpuMeter:
    """CPU used on the whole machine vs by this process and its reaped children, over a part.

    ``others`` (busy time of the machine minus ours) is what other work on the machine took
    while we measured; ``steal`` is time the hypervisor gave to other guests. Both skew figures.
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        busy = (user + nice + system + irq + softirq) / self.tick
        me = os.times()
        ours = me.user + me.system + me.children_user + me.children_system
        return time.monotonic(), busy, ours, steal / self.tick

    def read(self) -> dict:
        now = self._sample()
        wall = now[0] - self.start[0]
        busy, ours, steal = (now[i] - self.start[i] for i in (1, 2, 3))
        others = max(0.0, busy - ours)
        return {"wall_s": wall, "busy_cpu_s": busy, "ours_cpu_s": ours, "others_cpu_s": others,
                "others_cores": others / wall if wall else 0.0, "steal_cpu_s": steal}

    def describe(self) -> str:
        r = self.read()
        return (f"{r['wall_s']:.0f} s wall; CPU used by this benchmark {r['ours_cpu_s']:.0f} s, by other "
                f"processes {r['others_cpu_s']:.0f} s ({r['others_cores']:.2f} cores on average), "
                f"steal {r['steal_cpu_s']:.1f} s")


def wait_for_quiet(max_seconds: float, threshold: float = 1.0) -> None:
    """Wait (at most ``max_seconds``) until the 1-minute load average is below ``threshold``."""
    deadline = time.monotonic() + max_seconds
    if os.getloadavg()[0] < threshold:
        return
    emit(f"load average {loadavg()} >= {threshold:g}: waiting up to {max_seconds:.0f} s for a quieter machine")
    while time.monotonic() < deadline and os.getloadavg()[0] >= threshold:
        time.sleep(5)
    emit(f"  load average now {loadavg()}; going on")


def emit(text: str = "") -> None:
    print(text, flush=True)


def add_common_args(parser) -> None:
    parser.add_argument("--release", help="an existing release directory (default: build one into a temp dir)")
    parser.add_argument("--json", help="also write the results as JSON to this file")


def write_json(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=2, default=str))


def python() -> str:
    return sys.executable


# --- a lean HTTP client for timing ---------------------------------------------------------

class HttpClient:
    """One persistent HTTP/1.1 connection (http.client), reconnecting if the server closes it.

    Used for timed requests instead of ``requests``, whose per-request overhead (environment,
    proxy and netrc lookups, URL re-encoding) measured several milliseconds here and would
    dilute the differences between servers.
    """

    def __init__(self, base: str, timeout: float = 60.0, keep_alive: bool = True, source: str | None = None) -> None:
        """``source``: the local address to connect from (another loopback address is another
        client to a server's per-client limits)."""
        from urllib.parse import urlsplit
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.source = (source, 0) if source else None
        self.conn = None

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        import http.client
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                                       source_address=self.source)
            try:
                sent = headers if self.keep_alive else {**headers, "Connection": "close"}
                self.conn.request("GET", path, headers=sent)
                response = self.conn.getresponse()
                body = response.read()
                if not self.keep_alive or response.will_close:
                    self.close()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2 or not self.keep_alive:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
