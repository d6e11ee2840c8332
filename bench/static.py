"""The static deployment under load: `kazdata export-static` under its generated nginx and
Apache configurations vs plain nginx and plain Apache sending the same document bytes as files.

- static: ``GET /doc/{kind}/{slug}`` with mixed Accept (and Accept-Language) headers, so every
  request is negotiated by the generated maps, redirects none, and sends the full set of
  headers (Link, ETag from the release, CORS, CSP ...); known and unknown Accept headers
  (exact map entries and the regular-expression tiers) are both in the mix;
- plain: a minimal nginx server (same http-level tuning: sendfile, keepalive, open file cache,
  buffered access log) sending, for each of those requests, the file the static deployment
  chose, by its file path: same bytes, no negotiation, no extra headers;
- the same two for Apache httpd (event MPM): the export's apache.conf (site/.htaccess included
  once at start-up), the same again reading .htaccess on every request (``-DKAZDATA_HTACCESS``,
  as on shared hosting), and a plain Apache with the same apache.conf tuning whose
  DocumentRoot is the files.

wrk -t2 -c32 for ``--duration`` seconds each, loopback, after a 2 s warm-up, in ``--rounds``
rounds (in A B C / C B A order); figures are medians of the rounds.

    python bench/static.py [--release DIR] [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common as c
import requests

AIM_RATIO = 0.8
#: Accept and Accept-Language headers in the mix: browsers and RDF clients the maps know by
#: name, and a few they answer with their regular-expression tiers.
MIX = [
    ({"Accept": "text/turtle"}, True),
    ({"Accept": "application/ld+json"}, True),
    ({"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
      "Accept-Language": "en-US,en;q=0.5"}, True),
    ({"Accept": "*/*"}, True),
    ({"Accept": "application/n-triples;q=0.7, text/html;q=0.3"}, False),
    ({"Accept": "application/rdf+xml;q=0.6, application/ld+json;q=0.4", "Accept-Language": "kk"}, False),
    ({"Accept": "text/html", "Accept-Language": "ru-RU;q=0.9, kk;q=0.2"}, False),
]


def export(release: Path, out: Path, port: int) -> Path:
    """``kazdata export-static`` of ``release`` to ``out``, listening on ``port``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kazdata.cli", "export-static", str(out), "--release", str(release),
                    "--listen", f"{c.HOST}:{port}"], check=True, stdout=subprocess.DEVNULL, timeout=600)
    c.emit(f"exported {release} to {out} in {time.perf_counter() - started:.1f} s")
    return out


def _root_directive() -> str:
    import os
    return " user root;" if os.geteuid() == 0 else ""  # temp dirs are 0700: workers must read them


def static_server(out: Path, port: int) -> tuple[c.Server, str]:
    """nginx with the generated configuration, exactly as README.txt says to run it."""
    argv = ["nginx", "-p", str(out), "-c", str(out / "nginx.conf"), "-g", "daemon off;" + _root_directive()]
    base = f"http://{c.HOST}:{port}"
    return c.Server("nginx-static", argv, base + "/", log_dir=out / "logs"), base


def _write_server_config(workdir: Path, name: str, conf: str) -> Path:
    """Write a plain server's configuration into ``workdir``, beside the logs/ and tmp/ it uses."""
    for state in ("logs", "tmp"):
        (workdir / state).mkdir(parents=True, exist_ok=True)
    path = workdir / name
    path.write_text(conf, encoding="utf-8")
    return path


def plain_config(out: Path, workdir: Path, port: int) -> Path:
    """The export's own nginx.conf with kazdata's maps and locations replaced by one location
    that sends files by path: the same http-level tuning, none of the negotiation or headers."""
    conf = (out / "nginx.conf").read_text(encoding="utf-8")
    types = re.search(r"types \{.*?\n\}", (out / "kazdata-headers.conf").read_text(encoding="utf-8"), re.S).group(0)
    conf = re.sub(r"\n\s*include \S*kazdata-maps\.conf;", "", conf)
    conf = re.sub(r"listen \S+;", f"listen {c.HOST}:{port};", conf)
    location = f"root {out / 'site' / 'identity'};\n        {types}\n        location / {{ }}"
    conf = re.sub(r"include \S*kazdata-locations\.conf;", lambda _: location, conf)
    return _write_server_config(workdir, "nginx.conf", conf)


def plain_server(out: Path, workdir: Path, port: int) -> tuple[c.Server, str]:
    conf = plain_config(out, workdir, port)
    argv = ["nginx", "-p", str(workdir), "-c", str(conf), "-g", "daemon off;" + _root_directive()]
    base = f"http://{c.HOST}:{port}"
    return c.Server("nginx-plain", argv, base + "/SHA256SUMS", log_dir=workdir / "logs"), base


def apache_static_server(out: Path, port: int, *, htaccess: bool = False) -> tuple[c.Server, str]:
    """Apache with the generated configuration, as README.txt says to run it (in the foreground)."""
    argv = ["apache2", "-d", str(out), "-f", str(out / "apache.conf"), "-DFOREGROUND"]
    argv += ["-DKAZDATA_HTACCESS"] if htaccess else []
    base = f"http://{c.HOST}:{port}"
    return c.Server("apache-htaccess" if htaccess else "apache-static", argv, base + "/", log_dir=out / "logs"), base


def plain_apache_config(out: Path, workdir: Path, port: int) -> Path:
    """The export's own apache.conf (same modules, MPM, keep-alive, logs) with kazdata's part
    replaced by a directory of the files: the .htaccess's AddType lines, nothing else."""
    conf = (out / "apache.conf").read_text(encoding="utf-8")
    types = "\n".join(re.findall(r"^AddType .*$", (out / "site" / ".htaccess").read_text(encoding="utf-8"), re.M))
    files = out / "site" / "identity"
    directory = (f'<Directory "{files}">\n    Options FollowSymLinks\n    AllowOverride None\n'
                 f"    Require all granted\n</Directory>\n{types}\n")
    conf = conf.replace(f'ServerRoot "{out}"', f'ServerRoot "{workdir}"')
    conf = re.sub(r"^Listen .*$", f"Listen {c.HOST}:{port}", conf, flags=re.M)
    conf = re.sub(r"^DocumentRoot .*$", f'DocumentRoot "{files}"', conf, flags=re.M)
    conf = re.sub(r"^Include .*kazdata-apache\.conf\"?$", lambda _: directory, conf, flags=re.M)
    return _write_server_config(workdir, "apache.conf", conf)


def apache_plain_server(out: Path, workdir: Path, port: int) -> tuple[c.Server, str]:
    conf = plain_apache_config(out, workdir, port)
    argv = ["apache2", "-d", str(workdir), "-f", str(conf), "-DFOREGROUND"]
    base = f"http://{c.HOST}:{port}"
    return c.Server("apache-plain", argv, base + "/SHA256SUMS", log_dir=workdir / "logs"), base


def request_mix(base: str, entities: list[dict]) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
    """The negotiated requests, and for each the file path the static deployment answered with.

    Raises RuntimeError unless every negotiated request is a 200.
    """
    negotiated, plain = [], []
    session = requests.Session()
    for entity in entities:
        for headers, _known in MIX:
            path = f"/doc/{entity['path']}"
            response = session.get(base + path, headers=headers, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"{path} {headers}: {response.status_code}")
            location = response.headers["Content-Location"]  # /doc/{kind}/{slug}.{ext}
            stem, extension = location[len("/doc/"):].rsplit(".", 1)
            language = response.headers.get("Content-Language")
            file = f"/docs/{stem}.{language}.{extension}" if language else f"/docs/{stem}.{extension}"
            negotiated.append((path, headers))
            plain.append((file, {}))
    return negotiated, plain


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in the group (nginx master and workers).

    Less disturbed than req/s by other work on the machine: what the server itself spent."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _load(server, base: str, mix: list[tuple[str, dict]], *, duration: int, connections: int, label: str) -> dict:
    script = c.wrk_requests_script(mix)
    with server:
        c.wrk(base, [mix[0][0]], {}, connections=8, duration=2, label="warm-up", script=script)
        before = group_cpu_seconds(server.proc.pid)
        result = c.wrk(base, [mix[0][0]], {}, connections=connections, duration=duration, label=label, script=script)
        result["cpu_us_per_req"] = (group_cpu_seconds(server.proc.pid) - before) / max(result["requests"], 1) * 1e6
    if result["errors"] or result["non_2xx"]:
        raise RuntimeError(f"{label}: {result['errors']} errors, {result['non_2xx']} non-2xx responses")
    c.emit(f"  {label}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
           f"{result['bytes_per_req']:.0f} bytes/response, server CPU {result['cpu_us_per_req']:.1f} µs/request")
    return result


def run(release: Path, *, duration: int = 10, connections: int = 32, rounds: int = 2) -> dict:
    """Export ``release``, load each server, print the table; return the figures."""
    entities = c.sample_entities(release)
    meter = c.CpuMeter()
    with tempfile.TemporaryDirectory(prefix="bench-static-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # Apache started as root serves as nobody
        static_port, plain_port = c.free_port(), c.free_port()
        out = export(release, tmp / "export", static_port)
        server, base = static_server(out, static_port)
        with server:
            negotiated, plain = request_mix(base, entities)
        server, base = apache_static_server(out, static_port)
        with server:
            if request_mix(base, entities) != (negotiated, plain):
                raise RuntimeError("Apache and nginx negotiate the request mix differently")
        c.emit(f"\n== static deployment: wrk -t2 -c{connections} -d{duration}s, {len(negotiated)} requests in "
               f"rotation ({len(entities)} entities x {len(MIX)} Accept/Accept-Language mixes), {rounds} round(s) ==")
        plain_dirs = iter(range(10 ** 6))
        setups = {  # name -> (label, server factory, requests)
            "static": ("nginx: static export, negotiated /doc/", lambda: static_server(out, static_port), negotiated),
            "plain": ("nginx: plain, same files by path",
                      lambda: plain_server(out, tmp / f"plain-{next(plain_dirs)}", plain_port), plain),
            "apache": ("apache: static export, negotiated /doc/",
                       lambda: apache_static_server(out, static_port), negotiated),
            "apache-htaccess": ("apache: static export, .htaccess read per request",
                                lambda: apache_static_server(out, static_port, htaccess=True), negotiated),
            "apache-plain": ("apache: plain, same files by path",
                             lambda: apache_plain_server(out, tmp / f"plain-{next(plain_dirs)}", plain_port), plain),
        }
        runs: dict[str, list[dict]] = {name: [] for name in setups}
        for name in c.abba(list(runs), rounds):
            label, factory, mix = setups[name]
            server, base = factory()
            runs[name].append(_load(server, base, mix, duration=duration, connections=connections, label=label))
    results = {name: c.combine(values) for name, values in runs.items()}
    for name, values in runs.items():
        results[name]["cpu_us_per_req"] = c.median([run["cpu_us_per_req"] for run in values])
    plain_of = {"static": "plain", "plain": "plain", "apache": "apache-plain", "apache-htaccess": "apache-plain",
                "apache-plain": "apache-plain"}
    rows = [[setups[name][0], r["rps"], r["p50_ms"], r["p99_ms"], r["bytes_per_req"], r["cpu_us_per_req"],
             c.ratio(r["rps"], results[plain_of[name]]["rps"])] for name, r in results.items()]
    ratio = c.ratio(results["static"]["rps"], results["plain"]["rps"])
    apache_ratio = c.ratio(results["apache"]["rps"], results["apache-plain"]["rps"])
    c.emit()
    c.emit(c.table(["server", "req/s", "p50 ms", "p99 ms", "bytes/resp", "server CPU µs/req",
                    "req/s ÷ same server plain"], rows,
                   title=f"/doc/ with mixed Accept, {connections} connections (median of {rounds} round(s))"))
    cpu = {name: r["cpu_us_per_req"] for name, r in results.items()}
    c.emit(f"nginx static/plain req/s = {ratio:.2f}x (aim >= {AIM_RATIO}x: {'met' if ratio >= AIM_RATIO else 'MISSED'}); "
           f"CPU per request static/plain = {c.ratio(cpu['static'], cpu['plain']):.2f}x")
    c.emit(f"apache static/plain req/s = {apache_ratio:.2f}x, .htaccess per request/plain = "
           f"{c.ratio(results['apache-htaccess']['rps'], results['apache-plain']['rps']):.2f}x; CPU per request "
           f"static/plain = {c.ratio(cpu['apache'], cpu['apache-plain']):.2f}x; apache static/nginx static req/s = "
           f"{c.ratio(results['apache']['rps'], results['static']['rps']):.2f}x; load average {c.loadavg()}")
    c.emit(f"machine during this part: {meter.describe()}")
    return {"cpu": meter.read(), "results": results, "runs": runs, "rounds": rounds, "ratio": ratio,
            "apache_ratio": apache_ratio, "aim_met": ratio >= AIM_RATIO, "entities": [e["path"] for e in entities]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    c.add_common_args(parser)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="rounds, in A B C / C B A order")
    args = parser.parse_args(argv)
    with c.release_dir(args.release) as release:
        results = run(release, duration=args.duration, connections=args.connections, rounds=args.rounds)
    c.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
