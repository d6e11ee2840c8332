"""The same SPARQL tests on every backend: memory, disk (RocksDB), and two real remote stores,
an Oxigraph server and OpenLink Virtuoso.

Each backend runs behind a real ``kazdata serve``; the remote ones are a real ``oxigraph serve``
and a real ``virtuoso-t`` (``tests/stores.py``), each loaded with ``kazdata load`` over the Graph
Store Protocol (Virtuoso's with Digest authentication). Answers are compared with the
in-process engine on the same release, query by query.
"""

from __future__ import annotations

import os
import re
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
from kazdata.sparql.backends import EMBEDDED_STORES
from kazdata.sparql.policy import Engine, Policy, QueryRequest
from kazdata.sparql.results import write_json
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


def _oxigraph_loaded(folder: Path, release: Path, *flags: str):
    """A real Oxigraph server on a free port, loaded with ``release`` through the Graph Store
    Protocol by ``kazdata load``: (process, query URL, what the load printed)."""
    port = free_port()
    process = subprocess.Popen([_oxigraph(), "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}",
                                "--timeout-s", "6", *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(root + "/query", params={"query": "ASK {}"}, timeout=1)
            break
        except (requests.ConnectionError, requests.Timeout):  # not answering yet: a loaded machine
            time.sleep(0.1)
    loaded = subprocess.run([*KAZDATA, "load", str(release), "--endpoint", root + "/store",
                             "--update-endpoint", root + "/update"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    return process, root + "/query", loaded.stdout


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory, store_release):
    """A real Oxigraph server, loaded with the release through the Graph Store Protocol."""
    process, endpoint, output = _oxigraph_loaded(tmp_path_factory.mktemp("oxigraph"), store_release)
    yield endpoint, output
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def oxigraph_union_server(tmp_path_factory, store_release):
    """The same, started with ``--union-default-graph``."""
    process, endpoint, output = _oxigraph_loaded(tmp_path_factory.mktemp("oxigraph-union"), store_release,
                                                 "--union-default-graph")
    yield endpoint, output
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def loaded_virtuoso(virtuoso_server, store_release):
    """The session's Virtuoso, loaded with the release through its Graph Store endpoint, the
    password read from the credentials file named by the environment (never the command line)."""
    loaded = subprocess.run([*KAZDATA, "load", str(store_release), "--endpoint", virtuoso_server.graph_store,
                             "--update-endpoint", virtuoso_server.root + "/sparql-auth"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KAZDATA_STORE_CREDENTIALS": str(virtuoso_server.credentials)})
    assert loaded.returncode == 0, loaded.stderr
    return virtuoso_server.sparql, loaded.stdout


#: the remote stores, each a fixture giving (SPARQL query URL, what ``kazdata load`` printed)
REMOTE_STORES = {"oxigraph": "oxigraph_server", "virtuoso": "loaded_virtuoso"}


@pytest.fixture(scope="module", params=[*EMBEDDED_STORES, *(f"remote-{name}" for name in REMOTE_STORES)])
def backend_server(request, store_release):
    backend, _, store = request.param.partition("-")
    extra = ["--backend", backend, "--query-timeout", "3", "--result-limit", str(RESULT_LIMIT)]
    if store:
        extra += ["--endpoint", request.getfixturevalue(REMOTE_STORES[store])[0]]
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


def _concatenated(query: str) -> set[str]:
    """The variables a query binds with GROUP_CONCAT. Whether their value keeps the language tag
    its parts share is where engines part: pyoxigraph 0.5 keeps it, Virtuoso drops it, and the
    W3C's test suite (rdf-tests issue 280, 2026) settled that it is dropped, as Oxigraph since
    does too. The tag is left out of the comparison for those variables only, and an empty
    concatenation (Virtuoso's answer for a group with no value) counts as unbound
    (pyoxigraph's) (decision 019)."""
    return set(re.findall(r"GROUP_CONCAT\s*\((?:[^()]|\([^()]*\))*\)\s+AS\s+\?(\w+)", query, re.I))


def _canonical(payload: dict, concatenated: set[str] = frozenset()) -> object:  # type: ignore[assignment]
    """SPARQL JSON results as something comparable: the boolean, or the sorted bindings (blank
    node labels are the engine's business, so they are blanked)."""
    if "boolean" in payload:
        return payload["boolean"]
    rows = []
    for binding in payload["results"]["bindings"]:
        rows.append(sorted((name, "literal" if term["type"] == "typed-literal" else term["type"],
                            "_" if term["type"] == "bnode" else _unordered(term["value"]),
                            term.get("datatype", ""), "" if name in concatenated else term.get("xml:lang", ""))
                           for name, term in binding.items() if not (name in concatenated and term["value"] == "")))
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
    return _canonical(payload, _concatenated(query))


@pytest.mark.parametrize("store", REMOTE_STORES)
def test_load_reports_each_graph_and_the_store_holds_it(request, store, store_release):
    """What ``kazdata load`` printed, and what the store then holds (asked over SPARQL, graph by
    graph), equal the release's N-Quads dump parsed by pyoxigraph."""
    endpoint, output = request.getfixturevalue(REMOTE_STORES[store])
    graphs = Release(store_release).graphs
    lines = [line for line in output.splitlines() if "->" in line]
    counts = {line.split("<")[1].split(">")[0]: int(line.split()[0]) for line in lines}
    assert sorted(counts) == sorted(graphs)
    assert [line.split("(")[1].split(",")[0] for line in lines] == [f"{n}/{len(graphs)}" for n in range(1, len(graphs) + 1)]
    dump = ox.Store()
    dump.bulk_load(path=str(store_release / "dumps" / "kazdata.nq"), format=ox.RdfFormat.N_QUADS)
    held = requests.post(endpoint, data={"query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                                                  "FILTER(STRSTARTS(STR(?g), 'https://w3id.org/kazdata/')) } GROUP BY ?g"},
                         headers=JSON_RESULTS, timeout=30).json()["results"]["bindings"]
    for graph in graphs:
        expected = len(list(dump.quads_for_pattern(None, None, None, ox.NamedNode(graph))))
        assert counts[graph] == expected
        assert [int(row["n"]["value"]) for row in held if row["g"]["value"] == graph] == [expected], graph


#: Example queries a store answers wrongly, by backend, with why: engine bugs the remote backend
#: cannot mend (it sees only the answer). Each is checked still to differ, so that a store
#: release that fixes one fails here and the entry goes (decision 019).
ENGINE_BUGS = {
    ("remote-virtuoso", "09-zhanaozen-shooting-deaths"):
        "Virtuoso 7.2.5 returns no rows when the group's FILTER (?cityName = \"Zhanaozen\"@en) meets a later "
        "BIND; without either it answers",
}


def test_every_example_query_answers_as_the_reference_store(request, backend_server, reference_store,
                                                            store_release):
    backend = request.node.callspec.params["backend_server"]
    wrong = []
    for example in Release(store_release).examples:
        response = requests.get(backend_server.url("/sparql"), params={"query": example["query"]},
                                headers=JSON_RESULTS, timeout=30)
        assert response.status_code == 200, (example["name"], response.text)
        same = (_canonical(response.json(), _concatenated(example["query"]))
                == _reference(reference_store, example["query"]))
        if same == ((backend, example["name"]) in ENGINE_BUGS):
            wrong.append((example["name"], response.text[:300]))
    assert not wrong, wrong


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


#: Queries over the whole dataset, whose answers show what the default graph and ``GRAPH`` reach:
#: every graph of the release, and nothing else a store holds (Virtuoso's own system graphs).
WHOLE_DATASET = {
    "every triple": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "every graph": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "every graph's name": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
}


def test_the_default_graph_and_graph_reach_the_release_and_nothing_else(backend_server, reference_store):
    """README: the default graph is the union of the release's graphs and ``GRAPH`` reaches each
    one, whichever backend evaluates. Sent with ``default-graph-uri`` alone, ``GRAPH ?g`` found
    no graph on Oxigraph's server and Virtuoso's system graphs (2,500 triples) beside the
    release's; each answer is compared with pyoxigraph's on the release's dump."""
    wrong = {}
    for name, query in WHOLE_DATASET.items():
        response = requests.get(backend_server.url("/sparql"), params={"query": query}, headers=JSON_RESULTS,
                                timeout=30)
        assert response.status_code == 200, response.text
        if _canonical(response.json()) != _reference(reference_store, query):
            wrong[name] = response.text[:600]
    assert not wrong, wrong


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
    time.sleep(0.3)  # a head start for the heavy query (a remote store's work cannot be seen from here)
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


def _held(endpoint: str, query: str) -> list[dict]:
    return requests.post(endpoint, data={"query": query}, headers=JSON_RESULTS, timeout=30).json()["results"]["bindings"]


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "in-place"])
@pytest.mark.parametrize("store", REMOTE_STORES)
def test_a_failed_load_leaves_the_previous_graphs(request, store, staged, store_release, tmp_path):
    """A release whose first graph gains a triple and whose second graph the store refuses:
    loaded with an update endpoint (staged, then switched), the store still serves the previous
    first graph and keeps no staging graph; replaced in place, the first graph has changed
    (which is why the staged load exists)."""
    from kazdata.errors import BackendUnavailable
    from kazdata.sparql.backends.graph_store import GraphStore, load_release, read_credentials
    endpoint, _output = request.getfixturevalue(REMOTE_STORES[store])
    if store == "virtuoso":
        server = request.getfixturevalue("virtuoso_server")
        target = GraphStore(server.graph_store, server.root + "/sparql-auth" if staged else None,
                            read_credentials(server.credentials))
    else:
        root = endpoint.rsplit("/", 1)[0]
        target = GraphStore(root + "/store", root + "/update" if staged else None)
    copy = tmp_path / "release"
    shutil.copytree(store_release, copy, ignore=shutil.ignore_patterns("store"))
    first, second = sorted(Release(copy).graphs)[:2]
    marker = "urn:kazdata:test:new-in-this-release"
    with open(copy / "graphs" / f"{first.rsplit('/', 1)[1]}.nt", "a") as graph:
        graph.write(f'<{marker}> <{marker}> "new" .\n')
    (copy / "graphs" / f"{second.rsplit('/', 1)[1]}.nt").write_text('<urn:a> <urn:b> "unterminated .\n')
    said = "nothing was switched" if staged else "1 graph.s. before it were replaced in place"
    with pytest.raises(BackendUnavailable, match=f"(?s)PUT of graph <{second}>.*{said}"):
        load_release(Release(copy), target)
    try:
        marked = _held(endpoint, f"SELECT ?g WHERE {{ GRAPH ?g {{ <{marker}> ?p ?o }} }}")
        assert [row["g"]["value"] for row in marked] == ([] if staged else [first])
        before = (store_release / "graphs" / f"{first.rsplit('/', 1)[1]}.nt").read_bytes().count(b"\n")
        count = _held(endpoint, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{first}> {{ ?s ?p ?o }} }}")
        assert int(count[0]["n"]["value"]) == before + (0 if staged else 1)
        staging = _held(endpoint, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                                  "FILTER(STRSTARTS(STR(?g), 'urn:kazdata:load:')) }")
        assert staging == []
    finally:
        if not staged:  # put the release back for the other tests
            load_release(Release(store_release), GraphStore(target.url, None, target.credentials))


def test_literal_forms_are_mended(virtuoso_server):
    """Literals written in the test, stored in Virtuoso through its Graph Store, read back
    through the remote backend in the forms written (Virtuoso's JSON has bare numbers for the
    durations and 1 for true)."""
    from requests.auth import HTTPDigestAuth

    from kazdata.sparql.backends.remote import RemoteBackend
    xsd = "http://www.w3.org/2001/XMLSchema#"
    written = {"urn:p:yes": ("true", "boolean"), "urn:p:no": ("false", "boolean"), "urn:p:weeks": ("P21D", "duration"),
               "urn:p:years": ("P2Y", "duration"), "urn:p:months": ("P1Y2M", "duration"),
               "urn:p:clock": ("P1DT2H", "duration"), "urn:p:back": ("-P2D", "duration")}
    body = "".join(f'<urn:s> <{p}> "{value}"^^<{xsd}{kind}> .\n' for p, (value, kind) in written.items())
    graph = "urn:kazdata:test:literal-forms"
    auth = HTTPDigestAuth("dba", virtuoso_server.password)
    put = requests.put(virtuoso_server.graph_store, params={"graph": graph}, data=body.encode(), auth=auth,
                       headers={"Content-Type": "application/n-triples"}, timeout=30)
    assert put.status_code in (200, 201, 204), put.text
    try:
        result = RemoteBackend(virtuoso_server.sparql, [graph], {}).query(
            QueryRequest("SELECT ?p ?o WHERE { <urn:s> ?p ?o }"), limit=100, timeout=10)
        read = {row["p"].value: (row["o"].value, row["o"].datatype.value) for row in result.rows}
        assert read == {p: (value, xsd + kind) for p, (value, kind) in written.items()}
    finally:
        requests.delete(virtuoso_server.graph_store, params={"graph": graph}, auth=auth, timeout=30)


#: the stores whose default graph is the union of their graphs, each a fixture as REMOTE_STORES
UNION_STORES = {"oxigraph": "oxigraph_union_server", "virtuoso": "loaded_virtuoso"}


#: What a store's own union default graph holds beyond the release, by (store, WHOLE_DATASET
#: query), with why; each is checked still to differ, so that the entry goes when it stops (decision 019).
UNION_BEYOND_THE_RELEASE = {
    ("virtuoso", "every triple"): "Virtuoso's default graph holds its system graphs too (virtrdf#: 2,479 triples "
                                  "in a fresh 7.2.5 database; ldp#; its /sparql)",
    ("virtuoso", "every graph"): "the same graphs, reached by GRAPH when no named-graph-uri is sent",
    ("virtuoso", "every graph's name"): "the same graphs' names",
}


@pytest.mark.parametrize("store", UNION_STORES)
def test_a_store_whose_default_graph_is_the_union(request, store, store_release, reference_store):
    """``--union-default-graph true``: no ``default-graph-uri`` is sent, and the answers stay
    those of the embedded engine. A triple the test puts in a graph outside the release shows
    which form was sent: the store's own union sees it, the portable form does not."""
    from kazdata.sparql.backends.remote import RemoteBackend
    endpoint, _output = request.getfixturevalue(UNION_STORES[store])
    release = Release(store_release)

    import json

    from kazdata.settings import load_settings
    from kazdata.sparql.backends import open_backend
    settings = load_settings(environ={"KAZDATA_BACKEND": "remote", "KAZDATA_ENDPOINT": endpoint,
                                      "KAZDATA_UNION_DEFAULT_GRAPH": "true"})  # as an operator sets it
    union = Engine(open_backend(settings, release), Policy(limit=RESULT_LIMIT))
    portable = Engine(RemoteBackend(endpoint, release.graphs, prefixes_for(release.base)), Policy(limit=RESULT_LIMIT))
    for example in release.examples:
        answer = _canonical(json.loads(b"".join(write_json(union.query(QueryRequest(example["query"]))))),
                            _concatenated(example["query"]))
        same = answer == _reference(reference_store, example["query"])
        assert same != ((f"remote-{store}", example["name"]) in ENGINE_BUGS), example["name"]
    for name, query in WHOLE_DATASET.items():
        same = _canonical(json.loads(b"".join(write_json(union.query(QueryRequest(query)))))) == _reference(
            reference_store, query)
        assert same != ((store, name) in UNION_BEYOND_THE_RELEASE), name
    outside, marker = "urn:kazdata:test:outside-the-release", "urn:kazdata:test:marker"
    _put_graph(request, store, outside, f"<{marker}> <{marker}> <{marker}> .\n")
    try:
        seen = f"ASK {{ <{marker}> ?p ?o }}"
        assert union.query(QueryRequest(seen)).value is True
        assert portable.query(QueryRequest(seen)).value is False
    finally:
        _put_graph(request, store, outside, None)


def _put_graph(request, store: str, graph: str, ntriples: str | None) -> None:
    """PUT (or, for None, DELETE) one graph in a test store over the Graph Store Protocol."""
    from requests.auth import HTTPDigestAuth
    if store == "virtuoso":
        server = request.getfixturevalue("virtuoso_server")
        url, auth = server.graph_store, HTTPDigestAuth("dba", server.password)
    else:
        url, auth = request.getfixturevalue(UNION_STORES[store])[0].rsplit("/", 1)[0] + "/store", None
    if ntriples is None:
        requests.delete(url, params={"graph": graph}, auth=auth, timeout=30)
        return
    answer = requests.put(url, params={"graph": graph}, data=ntriples.encode(), auth=auth, timeout=30,
                          headers={"Content-Type": "application/n-triples"})
    assert answer.status_code in (200, 201, 204), answer.text


def test_a_graph_of_megabytes_goes_into_virtuoso_with_its_password(virtuoso_server, loaded_virtuoso, store_release,
                                                                  tmp_path):
    """Virtuoso answers an unsigned PUT with 401 at once and resets the connection while a large
    body is still on its way; the first graph of this release is 40,000 triples (about 4 MB)."""
    from kazdata.sparql.backends.graph_store import GraphStore, load_release, read_credentials
    copy = tmp_path / "release"
    shutil.copytree(store_release, copy, ignore=shutil.ignore_patterns("store"))
    first = sorted(Release(copy).graphs)[0]
    extra = 40_000
    with open(copy / "graphs" / f"{first.rsplit('/', 1)[1]}.nt", "a") as graph:
        graph.writelines(f'<urn:kazdata:test:bulk:{n}> <urn:kazdata:test:p> "{n} of the bulk" .\n' for n in range(extra))
    # in place: the PUT is what is tested (a MOVE of this graph can outlast the test store's 6 s limit)
    target = GraphStore(virtuoso_server.graph_store, None, read_credentials(virtuoso_server.credentials))
    try:
        loaded = load_release(Release(copy), target)
        before = (store_release / "graphs" / f"{first.rsplit('/', 1)[1]}.nt").read_bytes().count(b"\n")
        count = _held(virtuoso_server.sparql, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{first}> {{ ?s ?p ?o }} }}")
        assert int(count[0]["n"]["value"]) == before + extra == loaded[0].triples
    finally:
        load_release(Release(store_release), target)


def _union_graph_store(request, store: str, update: str | None = "") -> tuple[str, object]:
    """(SPARQL query URL, GraphStore) of a union store; ``update`` replaces its update URL (None: none)."""
    from kazdata.sparql.backends.graph_store import GraphStore, read_credentials
    endpoint, _output = request.getfixturevalue(UNION_STORES[store])
    if store == "virtuoso":
        server = request.getfixturevalue("virtuoso_server")
        return endpoint, GraphStore(server.graph_store, server.root + "/sparql-auth" if update == "" else update,
                                    read_credentials(server.credentials))
    root = endpoint.rsplit("/", 1)[0]
    return endpoint, GraphStore(root + "/store", root + "/update" if update == "" else update)


@pytest.mark.parametrize("store", UNION_STORES)
def test_a_staged_load_is_not_seen_twice_through_a_union_default_graph(request, store, store_release, tmp_path):
    """While a staged load holds its staging graphs, a store's union default graph holds every
    triple twice; ``--union-default-graph true`` asks for the release's graphs by name until the
    load has switched. Also when the load failed and could not drop its staging graphs (its
    update endpoint gone): they are left named in ``LOADING_GRAPH``, still asked around, and
    dropped by the next load. Expected: while staging graphs exist, the release's count of every
    triple (the reference store's); before and after, the store's union's (on Virtuoso, its
    system graphs too)."""
    from kazdata.errors import BackendUnavailable
    from kazdata.settings import load_settings
    from kazdata.sparql.backends import open_backend
    from kazdata.sparql.backends.graph_store import LOADING_GRAPH, load_release
    from kazdata.sparql.backends.remote import LOADING_CHECK_S
    endpoint, target = _union_graph_store(request, store)
    release = Release(store_release)
    union = open_backend(load_settings(environ={"KAZDATA_BACKEND": "remote", "KAZDATA_ENDPOINT": endpoint,
                                                "KAZDATA_UNION_DEFAULT_GRAPH": "true"}), release)

    def every_triple() -> int:
        return int(union.query(QueryRequest(WHOLE_DATASET["every triple"]), limit=10, timeout=20).rows[0]["n"].value)

    expected, reference = every_triple(), len(release.load_store())
    assert expected == reference if store == "oxigraph" else expected > reference
    during: list[int] = []
    load_release(release, target, progress=lambda loaded: during.append(every_triple()))
    assert during == [reference] * len(release.graphs)
    leftovers = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), 'urn:kazdata:load:')) }"
    assert _held(endpoint, leftovers) == []

    copy = tmp_path / "release"  # its second graph refused, and no update endpoint to drop the first
    shutil.copytree(store_release, copy, ignore=shutil.ignore_patterns("store"))
    (copy / "graphs" / f"{sorted(release.graphs)[1].rsplit('/', 1)[1]}.nt").write_text('<urn:a> <urn:b> "open .\n')
    _, broken = _union_graph_store(request, store, f"http://127.0.0.1:{free_port()}/update")
    with pytest.raises(BackendUnavailable):
        load_release(Release(copy), type(broken)(target.url, broken.update_url, target.credentials), wait=0.1)
    try:
        assert {row["g"]["value"] for row in _held(endpoint, leftovers)} >= {LOADING_GRAPH}, "the failure left them"
        time.sleep(LOADING_CHECK_S)
        assert every_triple() == reference
    finally:
        load_release(release, target)  # drops what the failed load left, then loads
    assert _held(endpoint, leftovers) == []
    time.sleep(LOADING_CHECK_S)
    assert every_triple() == expected
