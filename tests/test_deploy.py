"""The scale-out recipe of docs/deploy.md, stood up on loopback: two releases' static exports,
each on its own nginx (blue and green origins), behind the caching proxy of
``docs/deploy/cache.conf.template`` (the real nginx, ``proxy_cache``).

A release switch is the recipe's: the proxy's ``release-upstream.conf`` is pointed at the new
release's origin and the proxy reloaded. Clients keep fetching through the switch; every
response must be one release's document whole (its body and ETag those the origin of one
release sends, the ETag the SHA-256 of that body), and the new release must be seen within the
proxy's freshness (``KAZDATA_CACHE_FRESH``), unchanged documents revalidated by ETag.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
import rdflib
import requests
import yaml

from kazdata.builder import build_release, quiet
from tests.conftest import ROOT, ServerProcess, free_port, require_debian_package
from tests.processes import wait_until

TEMPLATE = ROOT / "docs" / "deploy" / "cache.conf.template"
FRESH_S = 1
#: (path, Accept, Accept-Language): a document that the second release changes, one it does not,
#: and a negotiated HTML page
DOCUMENTS = [("/doc/place/aktau", "text/turtle", None), ("/doc/place/shetpe", "text/turtle", None),
             ("/doc/place/aktau", "text/html", "en"), ("/doc/place/aktau", "application/n-triples", None)]
CHANGED = "/doc/place/aktau"


def _nginx(prefix: Path, config: Path, port: int) -> ServerProcess:
    executable = require_debian_package("nginx", "/usr/sbin/nginx")
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")  # tmp dirs are 0700
    return ServerProcess("nginx", [executable, "-p", str(prefix), "-c", str(config), "-g", directives], port, 20)


@pytest.fixture(scope="module")
def second_release(tmp_path_factory) -> Path:
    """The bundled data with Aktau renamed: its documents change, Shetpe's do not."""
    sources = tmp_path_factory.mktemp("sources-2") / "sources"
    shutil.copytree(ROOT / "data" / "sources", sources)
    for path in sources.glob("*.ttl"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('schema:name "Aktau"@en', 'schema:name "Aktau (second release)"@en'),
                        encoding="utf-8")
    return build_release(tmp_path_factory.mktemp("release-2") / "release", sources_dir=sources, progress=quiet)


@pytest.fixture(scope="module")
def origins(release_dir, second_release, tmp_path_factory):
    """Each release exported and served by its own nginx: {"blue": server, "green": server}."""
    started = {}
    try:
        for colour, release in (("blue", release_dir), ("green", second_release)):
            folder = tmp_path_factory.mktemp(colour)
            folder.chmod(0o755)
            out, port = folder / "export", free_port()
            subprocess.run([sys.executable, "-m", "kazdata", "export-static", str(out), "--release", str(release),
                            "--listen", f"127.0.0.1:{port}", "--sparql-upstream", "http://127.0.0.1:9"],
                           check=True, cwd=ROOT, capture_output=True, timeout=300)
            started[colour] = _nginx(out, out / "nginx.conf", port)
        yield started
    finally:
        for server in started.values():
            server.stop()


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return {int(child) for child in out.split()}


def _start_cache(prefix: Path, values: dict[str, str], origin_port: int) -> ServerProcess:
    """The recipe's caching proxy: the template rendered with ``values`` (as ``envsubst`` does),
    its release upstream the origin on ``origin_port``."""
    prefix.chmod(0o755)
    for folder in ("logs", "tmp", "cache"):
        (prefix / folder).mkdir()
    config = re.sub(r"\$\{(KAZDATA_[A-Z_]+)\}", lambda m: values[m.group(1)], TEMPLATE.read_text())
    (prefix / "cache.conf").write_text(config)
    (prefix / "release-upstream.conf").write_text(f"server 127.0.0.1:{origin_port};\n")
    server = _nginx(prefix, prefix / "cache.conf", int(values["KAZDATA_CACHE_LISTEN"].rsplit(":", 1)[1]))
    server.prefix = prefix  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def cache(origins, tmp_path_factory):
    """The recipe's caching proxy, its upstream the blue origin."""
    values = {"KAZDATA_CACHE_LISTEN": f"127.0.0.1:{free_port()}", "KAZDATA_SPARQL_UPSTREAM": "127.0.0.1:9",
              "KAZDATA_CACHE_SIZE": "100m", "KAZDATA_CACHE_FRESH": f"{FRESH_S}s"}
    server = _start_cache(tmp_path_factory.mktemp("cache"), values, origins["blue"].port)
    yield server
    server.stop()


def _get(root: str, path: str, accept: str, language: str | None) -> requests.Response:
    headers = {"Accept": accept, "Accept-Encoding": "identity"}
    if language:
        headers["Accept-Language"] = language
    return requests.get(root + path, headers=headers, timeout=10)


def test_a_release_switch_is_seen_through_the_cache_and_never_mixes_releases(origins, cache):
    expected = {}  # (document, release) -> (ETag, body), asked of each origin directly
    for document in DOCUMENTS:
        for colour, origin in origins.items():
            answer = _get(origin.root, *document)
            assert answer.status_code == 200, (document, colour)
            expected[document, colour] = (answer.headers["ETag"], answer.content)
    changed = [d for d in DOCUMENTS if expected[d, "blue"][1] != expected[d, "green"][1]]
    assert {d[0] for d in changed} == {CHANGED}, changed  # the second release changes Aktau only
    for document in DOCUMENTS:
        first, second = _get(cache.root, *document), _get(cache.root, *document)
        assert (first.headers["ETag"], first.content) == expected[document, "blue"]
        assert second.headers["X-Cache-Status"] == "HIT" and second.content == first.content
        assert second.headers["Cache-Control"] == "public, max-age=3600"  # the origin's, for browsers

    seen, stop = [], threading.Event()

    def fetch() -> None:
        while not stop.is_set():
            for document in DOCUMENTS:
                answer = _get(cache.root, *document)
                seen.append((time.monotonic(), document, answer.status_code, answer.headers.get("ETag"),
                             answer.content, answer.headers.get("X-Cache-Status")))

    clients = [threading.Thread(target=fetch) for _ in range(4)]
    for client in clients:
        client.start()
    try:  # traffic through the cache before the switch: every client has fetched every document once
        wait_until(lambda: len(seen) >= len(clients) * len(DOCUMENTS), 30, "the clients' first round of requests")
        (cache.prefix / "release-upstream.conf").write_text(f"server 127.0.0.1:{origins['green'].port};\n")
        switched = time.monotonic()
        before = _children(cache.process.pid)
        cache.process.send_signal(signal.SIGHUP)  # nginx -s reload
        # the reload has taken effect once the master has forked its new workers: a loaded machine
        # may take a while, and until then the old ones refresh entries from the old origin
        wait_until(lambda: _children(cache.process.pid) - before, 10, "nginx's workers after the reload")
        reloaded = time.monotonic()
        deadline = switched + FRESH_S + 5
        while time.monotonic() < deadline and not any(
                at > switched and body == expected[document, "green"][1]
                for at, document, _status, _etag, body, _cached in list(seen) if document in changed):
            time.sleep(0.05)
        # every entry past its freshness once more: nginx counts an entry's validity in whole
        # seconds, so a 1 s entry may be served for up to 2 s; an unchanged one is revalidated
        unchanged = [d for d in DOCUMENTS if d not in changed]
        deadline = time.monotonic() + FRESH_S + 5
        while time.monotonic() < deadline and not any(
                at > switched and cached == "REVALIDATED" and document in unchanged
                for at, document, _s, _e, _b, cached in list(seen)):
            time.sleep(0.05)
    finally:
        stop.set()
        for client in clients:
            client.join(30)

    for _at, document, status, etag, body, _cached in seen:
        assert status == 200, document
        assert (etag, body) in (expected[document, "blue"], expected[document, "green"]), document
        assert etag.strip('"').removeprefix("W/").strip('"') == hashlib.sha256(body).hexdigest()[:32], document
    first_green = min(at for at, document, _s, _e, body, _c in seen
                      if document in changed and body == expected[document, "green"][1])
    # an entry an old worker refreshed just before the reload may be served FRESH_S + 1 s more
    # (nginx's whole seconds); the next request after it gets the new release
    assert first_green - reloaded <= FRESH_S + 2, first_green - reloaded
    # every document ends on the new release: the first request past an entry's freshness may get
    # the stale copy while nginx updates it (proxy_cache_use_stale updating), the next the new one
    for document in DOCUMENTS:
        deadline = time.monotonic() + FRESH_S + 5
        answer = _get(cache.root, *document)
        while (answer.headers["ETag"], answer.content) != expected[document, "green"] and time.monotonic() < deadline:
            time.sleep(0.1)
            answer = _get(cache.root, *document)
        assert (answer.headers["ETag"], answer.content) == expected[document, "green"], document
    assert any(cached == "REVALIDATED" and document in unchanged for at, document, _s, _e, _b, cached in seen
               if at > switched), "unchanged documents are revalidated by ETag, not fetched again"


# ---------------------------------------------------------------------------------------------
# The compose file and the systemd units, as written. No Docker daemon (nor the images: no
# internet) runs here, so the compose file is checked against the Compose Specification's schema
# (what `docker compose config` checks) and each service's command is run as written on
# loopback, with only the hosts, ports and paths that name the compose network replaced.

COMPOSE = ROOT / "docs" / "deploy" / "compose.yaml"
COMPOSE_SCHEMA = ROOT / "tests" / "vendor" / "compose-spec" / "compose-spec.json"
#: options whose values name the compose network or the host's folders
LOCAL_OPTIONS = ("--release", "--host", "--port", "--endpoint")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_compose_file_is_a_valid_compose_file():
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(_compose())]
    assert errors == []
    assert set(_compose()["services"]) == {"store", "sparql", "origin-blue", "origin-green", "cache"}


def _compose_sparql_command() -> list[str]:
    """The sparql service's ``kazdata serve`` words (its command is ``sh -c "pip install ... &&
    kazdata serve ..."``)."""
    shell = shlex.split(_compose()["services"]["sparql"]["command"])
    assert shell[:2] == ["sh", "-c"], shell
    serve = [part for part in shell[2].split("&&") if part.strip().startswith("kazdata serve")]
    assert len(serve) == 1, shell
    return shlex.split(serve[0])[2:]


def _unit_sparql_command() -> list[str]:
    """The ``kazdata serve`` words of docs/deploy.md's kazdata-sparql.service ``ExecStart``."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    unit = text[text.index("kazdata-sparql.service"):]
    line = re.search(r"^ExecStart=(.*?(?:\\\n.*?)*)$", unit, re.M)
    assert line, "no ExecStart in the kazdata-sparql unit"
    words = shlex.split(line.group(1).replace("\\\n", " "))
    assert words[0].endswith("/kazdata") and words[1] == "serve", words
    return words[2:]


def _localised(words: list[str], values: dict[str, str]) -> list[str]:
    """``words`` with the values of LOCAL_OPTIONS replaced; every other option kept as written."""
    out, given = list(words), set()
    for index, word in enumerate(words[:-1]):
        if word in LOCAL_OPTIONS:
            out[index + 1] = values[word]
            given.add(word)
    assert given == set(LOCAL_OPTIONS), f"the command should name {LOCAL_OPTIONS}: {words}"
    return out


@pytest.fixture(scope="module")
def loaded_store(virtuoso_server, release_dir):
    """The recipe's store, Virtuoso, loaded with the release by ``kazdata load``."""
    loaded = subprocess.run([sys.executable, "-m", "kazdata", "load", str(release_dir),
                             "--endpoint", virtuoso_server.graph_store,
                             "--update-endpoint", virtuoso_server.root + "/sparql-auth"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KAZDATA_STORE_CREDENTIALS": str(virtuoso_server.credentials)})
    assert loaded.returncode == 0, loaded.stderr
    return virtuoso_server


EVENTS = "PREFIX schema: <https://schema.org/> SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e a schema:Event }"


@pytest.mark.parametrize("read", [_compose_sparql_command, _unit_sparql_command], ids=["compose", "systemd"])
def test_the_recipes_sparql_tier_runs_as_written_behind_its_cache(read, loaded_store, release_dir, origins,
                                                                     tmp_path_factory):
    port = free_port()
    words = _localised(read(), {"--release": str(release_dir), "--host": "127.0.0.1", "--port": str(port),
                                "--endpoint": loaded_store.sparql})
    public = words[words.index("--public-url") + 1] if "--public-url" in words else "https://w3id.org/kazdata/"
    tier = ServerProcess("the sparql tier", [sys.executable, "-m", "kazdata", "serve", *words], port, 60, cwd=ROOT)
    environment = _compose()["services"]["cache"]["environment"]
    values = {**environment, "KAZDATA_CACHE_LISTEN": f"127.0.0.1:{free_port()}",
              "KAZDATA_SPARQL_UPSTREAM": f"127.0.0.1:{port}", "KAZDATA_CACHE_SIZE": "100m"}
    cache = _start_cache(tmp_path_factory.mktemp("compose-cache"), values, origins["blue"].port)
    try:
        expected = len(set(rdflib.Graph().parse(release_dir / "dumps" / "kazdata.ttl").subjects(
            rdflib.RDF.type, rdflib.URIRef("https://schema.org/Event"))))
        answer = requests.get(cache.url("/sparql"), params={"query": EVENTS}, timeout=30,
                              headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200, answer.text
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == expected > 0
        described = rdflib.Graph().parse(data=requests.get(cache.url("/sparql"), timeout=30,
                                                           headers={"Accept": "text/turtle"}).text, format="turtle")
        endpoints = set(described.objects(None, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#endpoint")))
        assert endpoints == {rdflib.URIRef(public + "sparql")}  # the command's --public-url was taken
        document = requests.get(cache.url("/doc/place/aktau"), headers={"Accept": "text/turtle"}, timeout=10)
        assert document.status_code == 200 and "Aktau" in document.text  # from the origin, through the cache
    finally:
        cache.stop()
        tier.stop()
