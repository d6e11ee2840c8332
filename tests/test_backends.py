"""The same SPARQL tests on every backend: memory, disk (RocksDB) and a remote Oxigraph server.

Each backend runs behind a real ``kazdata serve``; the remote one is a real ``oxigraph serve``
process loaded with ``kazdata load`` over the Graph Store Protocol. Answers are compared with
the in-process engine on the same release, query by query.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from kazdata.builder import build_release, quiet
from kazdata.release.opened import Release
from kazdata.sparql.backends import BACKENDS
from kazdata.vocabulary import prefixes_for
from tests.conftest import KAZDATA, LiveServer, free_port

RESULT_LIMIT = 100
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ {' '.join(str(j) for j in range(40))} }}" for i in range(8)) + " }"


@pytest.fixture(scope="module")
def store_release(tmp_path_factory) -> Path:
    """The bundled dataset built with its on-disk store (``kazdata build --store``)."""
    return build_release(tmp_path_factory.mktemp("disk") / "release", progress=quiet, with_store=True)


def _oxigraph() -> str:
    found = shutil.which("oxigraph")
    assert found, "the `oxigraph` server (PyPI package oxigraph, in the test extra) is not installed"
    return found


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory, store_release):
    """A real Oxigraph server, loaded with the release through the Graph Store Protocol."""
    port = free_port()
    process = subprocess.Popen([_oxigraph(), "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")),
                                "--bind", f"127.0.0.1:{port}", "--timeout-s", "6"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(root + "/query", params={"query": "ASK {}"}, timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    loaded = subprocess.run([*KAZDATA, "load", str(store_release), "--endpoint", root + "/store"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    yield root, loaded.stdout
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module", params=BACKENDS)
def backend_server(request, store_release):
    extra = ["--backend", request.param, "--query-timeout", "3", "--result-limit", str(RESULT_LIMIT)]
    if request.param == "remote":
        extra += ["--endpoint", request.getfixturevalue("oxigraph_server")[0] + "/query"]
    server = LiveServer(store_release, extra)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def reference_store(store_release) -> tuple[ox.Store, dict[str, str]]:
    release = Release(store_release)
    return release.load_store(), prefixes_for(release.base)


def _unordered(value: str) -> str:
    """GROUP_CONCAT's order is unspecified by SPARQL and differs between storages: compare the
    parts of a concatenation (the examples use "; " and ", ") as a sorted list."""
    for separator in ("; ", ", "):
        value = separator.join(sorted(value.split(separator)))
    return value


def _canonical(payload: dict) -> object:
    """SPARQL JSON results as something comparable: the boolean, or the sorted bindings (blank
    node labels are the engine's business, so they are blanked)."""
    if "boolean" in payload:
        return payload["boolean"]
    rows = []
    for binding in payload["results"]["bindings"]:
        rows.append(sorted((name, term["type"], "_" if term["type"] == "bnode" else _unordered(term["value"]),
                            term.get("datatype", ""), term.get("xml:lang", "")) for name, term in binding.items()))
    return sorted(map(str, rows))


def _reference(reference: tuple[ox.Store, dict[str, str]], query: str) -> object:
    """pyoxigraph's own answer and JSON writer on the dump, with kazdata's prefixes and union
    default graph: nothing of kazdata's evaluation or writing (no example reaches the limit)."""
    import json
    store, prefixes = reference
    results = store.query(query, prefixes=prefixes, use_default_graph_as_union=True)
    body = results.serialize(format=ox.QueryResultsFormat.JSON)
    payload = json.loads(body)
    assert len(payload.get("results", {}).get("bindings", [])) <= RESULT_LIMIT
    return _canonical(payload)


def test_load_reports_each_graph(oxigraph_server, store_release):
    _root, output = oxigraph_server
    graphs = Release(store_release).graphs
    assert sorted(line.split("<")[1].rstrip(">") for line in output.splitlines()) == sorted(graphs)
    counts = {line.split("<")[1].rstrip(">"): int(line.split()[0]) for line in output.splitlines()}
    store = Release(store_release).load_store()
    for graph in graphs:
        assert counts[graph] == len(list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph))))


def test_every_example_query_answers_as_the_reference_store(backend_server, reference_store, store_release):
    for example in Release(store_release).examples:
        response = requests.get(backend_server.url("/sparql"), params={"query": example["query"]},
                                headers=JSON_RESULTS, timeout=30)
        assert response.status_code == 200, (example["name"], response.text)
        assert _canonical(response.json()) == _reference(reference_store, example["query"]), example["name"]


def test_the_dataset_is_narrowed_by_protocol_parameters_and_from(backend_server, store_release):
    ontology = next(g for g in Release(store_release).graphs if g.endswith("/graph/ontology"))
    classes = "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a owl:Class }"
    events = "ASK { ?e a kaz:Strike }"

    def ask(query, **params):
        return requests.get(backend_server.url("/sparql"), params={"query": query, **params},
                            headers=JSON_RESULTS, timeout=30).json()

    assert ask(events)["boolean"] is True
    assert ask(events, **{"default-graph-uri": ontology})["boolean"] is False
    assert ask(f"ASK FROM <{ontology}> {{ ?e a kaz:Strike }}")["boolean"] is False
    counted = ask(classes, **{"default-graph-uri": ontology})["results"]["bindings"][0]["n"]["value"]
    assert int(counted) > 5
    named = ask("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": ontology})
    assert [row["g"]["value"] for row in named["results"]["bindings"]] == [ontology]


def test_protocol_dataset_and_base_on_every_backend(backend_server, store_release):
    """The SPARQL 1.1 Protocol rules of decision 011, whichever store evaluates: a graph the
    release lacks is empty, the protocol's dataset replaces FROM, relative IRIs resolve against
    the endpoint."""
    ontology = next(g for g in Release(store_release).graphs if g.endswith("/graph/ontology"))
    missing = "http://example.org/not-in-the-release"

    def rows(query, **params):
        response = requests.get(backend_server.url("/sparql"), params={"query": query, **params},
                                headers=JSON_RESULTS, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["results"]["bindings"]

    count = "SELECT (COUNT(*) AS ?n) {} WHERE {{ ?s ?p ?o }}"
    assert rows(count.format(f"FROM <{missing}>"))[0]["n"]["value"] == "0"
    assert rows(count.format(""), **{"default-graph-uri": missing})[0]["n"]["value"] == "0"
    in_ontology = rows(count.format(""), **{"default-graph-uri": ontology})[0]["n"]["value"]
    assert int(in_ontology) > 0
    assert rows(count.format(f"FROM <{missing}>"), **{"default-graph-uri": ontology})[0]["n"]["value"] == in_ontology
    resolved = rows("SELECT (STR(<rel-x>) AS ?s) {}")[0]["s"]["value"]
    assert resolved == "https://w3id.org/kazdata/rel-x"  # the public endpoint URL, never the Host header


def test_construct_and_truncation(backend_server):
    construct = requests.get(backend_server.url("/sparql"), headers={"Accept": "application/n-triples"},
                             params={"query": "CONSTRUCT { ?p rdfs:label ?l } WHERE { ?p a schema:City ; rdfs:label ?l }"})
    labels = {t.object.value for t in ox.parse(construct.content, format=ox.RdfFormat.N_TRIPLES)}
    assert {"Aktau", "Shetpe", "Zhanaozen"} <= labels
    everything = requests.get(backend_server.url("/sparql"), params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                              headers=JSON_RESULTS)
    assert everything.headers["X-Kazdata-Truncated"] == f"true; limit={RESULT_LIMIT}"
    assert len(everything.json()["results"]["bindings"]) == RESULT_LIMIT


def test_bad_queries_are_refused_with_a_message(backend_server):
    syntax = requests.get(backend_server.url("/sparql"), params={"query": "SELECT ?x WHERE { ?x"})
    assert syntax.status_code == 400 and "query" in syntax.text.lower()
    update = requests.post(backend_server.url("/sparql"), data={"query": "DROP ALL"})
    assert update.status_code == 403
    service = requests.get(backend_server.url("/sparql"),
                           params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert service.status_code == 403


def test_a_runaway_query_is_stopped_and_light_traffic_continues(backend_server):
    outcome = {}

    def heavy():
        started = time.monotonic()
        response = requests.get(backend_server.url("/sparql"), params={"query": ENDLESS}, timeout=60)
        outcome.update(status=response.status_code, seconds=time.monotonic() - started, text=response.text)

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.3)
    light = [requests.get(backend_server.url("/sparql"), params={"query": "ASK { ?e a kaz:Strike }"},
                          headers=JSON_RESULTS, timeout=10).json()["boolean"] for _ in range(10)]
    thread.join(30)
    assert light == [True] * 10
    assert outcome["status"] == 503 and "limit" in outcome["text"], outcome
    assert outcome["seconds"] < 8


def test_a_remote_stores_answer_is_bounded_in_bytes_as_it_streams_in():
    """``--result-bytes`` holds for a remote store's answer too (it held only in query
    processes): 20 rows or triples of 10 kB each, 100 kB allowed."""
    import io
    import json

    from kazdata.sparql.backends.remote import _read_results
    big = "y" * 10_000
    bindings = [{"x": {"type": "literal", "value": f"{n}{big}"}} for n in range(20)]
    answer = json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": bindings}}).encode()
    result = _read_results(io.BytesIO(answer), graph=False, limit=1000, max_bytes=100_000)
    assert 0 < len(result.rows) <= 10 and result.truncated
    turtle = "".join(f'<urn:s{n}> <urn:p> "{big}" .\n' for n in range(20)).encode()
    graph = _read_results(io.BytesIO(turtle), graph=True, limit=1000, max_bytes=100_000)
    assert 0 < len(graph.triples) <= 10 and graph.truncated
    whole = _read_results(io.BytesIO(answer), graph=False, limit=1000, max_bytes=1_000_000)
    assert len(whole.rows) == 20 and not whole.truncated
