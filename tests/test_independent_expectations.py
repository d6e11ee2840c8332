"""What the server publishes, checked against values that do not come from the code that wrote it.

Each expected value here is written in the test, computed by pyoxigraph or rdflib from the
release's dump, or read from a file of the repository: a test that compared the server with the
function it calls could not fail when that function is wrong (issue 16, the four planted bugs).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests

from tests.conftest import LiveServer, ServerProcess, free_port

BASE = "https://w3id.org/kazdata/"
DATASET = BASE + "dataset"
#: what an entity document belongs to: the release, named by the version data/dataset.ttl states (decision 015)
RELEASE = BASE + "releases/" + str(next(rdflib.Graph().parse(
    Path(__file__).resolve().parents[1] / "data" / "dataset.ttl").objects(None, rdflib.OWL.versionInfo)))
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
FOAF = "http://xmlns.com/foaf/0.1/"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DCTERMS_LICENSE = "http://purl.org/dc/terms/license"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_PREFIXES = {"xsd": "http://www.w3.org/2001/XMLSchema#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
             "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}


def _entities(dump_store: ox.Store) -> list[str]:
    """Every typed IRI under ``{base}id/KIND/SLUG`` in the dump, by a query of the test's own."""
    rows = dump_store.query(f"""SELECT DISTINCT ?s WHERE {{ ?s a ?type
        FILTER(STRSTARTS(STR(?s), "{BASE}id/") && !CONTAINS(STRAFTER(STR(?s), "{BASE}id/"), "#")) }}""")
    paths = sorted(row["s"].value[len(BASE + "id/"):] for row in rows)
    return [path for path in paths if path.count("/") == 1]


def _triples(construct) -> set[ox.Triple]:
    return {ox.Triple(t.subject, t.predicate, t.object) for t in construct}


def _stored(ntriples: bytes) -> set[ox.Triple]:
    """The triples as a store holds them (numbers in canonical form, as in ``dump_store``)."""
    store = ox.Store()
    store.load(ntriples, format=ox.RdfFormat.N_TRIPLES)
    return _triples(store.query("CONSTRUCT WHERE { ?s ?p ?o }"))


def test_the_entities_the_dump_names_are_many(dump_store):
    """The loops below run over this list: it must not be empty or nearly so."""
    paths = _entities(dump_store)
    assert len(paths) > 50
    assert "place/zhanaozen" in paths and "event/zhanaozen-shooting-2011-12-16" in paths


def test_every_entity_document_says_what_it_is_about_and_where_it_belongs(client, dump_store):
    """Concrete triples about the document, and the entity's own triples from a CONSTRUCT over
    the dump (not from ``describe``, which the build uses to write the documents)."""
    paths = _entities(dump_store)
    assert len(paths) > 50
    linked_to = 0
    for path in paths:
        response = client.get(f"/doc/{path}.nt")
        assert response.status_code == 200, path
        document = _stored(response.data)
        doc, entity = ox.NamedNode(f"{BASE}doc/{path}"), ox.NamedNode(f"{BASE}id/{path}")
        about = {ox.Triple(doc, ox.NamedNode(FOAF + "primaryTopic"), entity),
                 ox.Triple(doc, ox.NamedNode(VOID + "inDataset"), ox.NamedNode(RELEASE)),
                 ox.Triple(doc, ox.NamedNode(DCTERMS_LICENSE), ox.NamedNode(LICENCE)),
                 ox.Triple(doc, ox.NamedNode(RDF_TYPE), ox.NamedNode(FOAF + "Document"))}
        assert about <= document, (path, about - document)
        own = _triples(dump_store.query(f"CONSTRUCT {{ <{entity.value}> ?p ?o }} WHERE {{ <{entity.value}> ?p ?o }}"))
        assert own and own <= document, (path, own - document)
        labels = _triples(dump_store.query(f"""CONSTRUCT {{ ?o ?lp ?label }} WHERE {{ <{entity.value}> ?p ?o .
            ?o ?lp ?label FILTER(isIRI(?o) && ?lp IN (rdfs:label, <https://schema.org/name>, rdf:type)) }}""", prefixes=_PREFIXES))
        assert labels <= document, (path, labels - document)
        # incoming links, each with the names and types of what links here (decision 003, item 4)
        incoming = _triples(dump_store.query(f"CONSTRUCT {{ ?s ?p <{entity.value}> }} WHERE {{ ?s ?p <{entity.value}> "
                                             f"FILTER(?s != <{entity.value}>) }}"))
        assert len(incoming) <= 200 and incoming <= document, (path, incoming - document)
        count = ox.Triple(doc, ox.NamedNode(BASE + "ontology#incomingLinkCount"),
                          ox.Literal(str(len(incoming)), datatype=ox.NamedNode(_PREFIXES["xsd"] + "integer")))
        assert count in document, path
        linking = _triples(dump_store.query(f"""CONSTRUCT {{ ?s ?lp ?label }} WHERE {{ ?s ?p <{entity.value}> .
            ?s ?lp ?label FILTER(?s != <{entity.value}> && ?lp IN (rdfs:label, <https://schema.org/name>, rdf:type)) }}""",
                                            prefixes=_PREFIXES))
        assert linking <= document, (path, linking - document)
        linked_to += bool(incoming)
    assert linked_to > 30  # most entities are linked to: the checks above were not all on empty sets


def test_a_document_names_its_entity_in_every_format(client):
    """One document, parsed by rdflib from each format, holds the triples written here."""
    from rdflib import Graph, Literal, URIRef
    doc, entity = URIRef(f"{BASE}doc/place/zhanaozen"), URIRef(f"{BASE}id/place/zhanaozen")
    for extension, rdflib_format in (("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("rdf", "xml")):
        graph = Graph().parse(data=client.get(f"/doc/place/zhanaozen.{extension}").data, format=rdflib_format)
        assert (doc, URIRef(FOAF + "primaryTopic"), entity) in graph, extension
        assert (doc, URIRef(VOID + "inDataset"), URIRef(RELEASE)) in graph, extension
        assert (entity, URIRef("https://schema.org/name"), Literal("Zhanaozen", lang="en")) in graph, extension


def test_the_sitemap_lists_every_entity_document_and_page(client, dump_store):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    locations = [loc.text for loc in ET.fromstring(response.data).iter(SITEMAP_NS + "loc")]
    assert len(locations) == len(set(locations))
    root = "https://w3id.org/kazdata"  # the release's base: the Host header never makes a URL (issue 15)
    expected = {f"{root}/doc/{path}" for path in _entities(dump_store)}
    expected |= {f"{root}/", f"{root}/timeline", f"{root}/ontology", f"{root}/index/event", f"{root}/index/place"}
    assert len(expected) > 55
    assert expected <= set(locations), sorted(expected - set(locations))[:5]


TYPED_LITERALS = """SELECT ?s ?p ?o WHERE { ?s ?p ?o
    FILTER(isLiteral(?o) && DATATYPE(?o) NOT IN (xsd:string, rdf:langString)) } ORDER BY ?s ?p ?o"""


@pytest.mark.parametrize("media_type, results_format", [
    ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
])
def test_typed_literals_keep_their_datatypes_in_results(live_server, dump_store, media_type, results_format):
    """The server's answer, parsed by pyoxigraph, equals pyoxigraph's own answer on the dump, row by
    row in the ORDER BY order, datatypes included."""
    response = requests.get(live_server.url("/sparql"), params={"query": TYPED_LITERALS},
                            headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    served = [tuple(row) for row in ox.parse_query_results(response.content, format=results_format)]
    expected = [tuple(row) for row in dump_store.query(TYPED_LITERALS, prefixes=_PREFIXES)]
    assert len(expected) > 20
    datatypes = {row[2].datatype.value for row in expected}
    assert {"http://www.w3.org/2001/XMLSchema#integer", "http://www.w3.org/2001/XMLSchema#date"} <= datatypes
    assert served == expected


def test_json_results_equal_pyoxigraphs_own_serialisation(live_server, dump_store):
    response = requests.get(live_server.url("/sparql"), params={"query": TYPED_LITERALS},
                            headers={"Accept": "application/sparql-results+json"})
    expected = json.loads(dump_store.query(TYPED_LITERALS, prefixes=_PREFIXES)
                          .serialize(format=ox.QueryResultsFormat.JSON))
    served = response.json()
    assert served["head"] == expected["head"]
    assert served["results"]["bindings"] == expected["results"]["bindings"]
    assert any("datatype" in row["o"] for row in served["results"]["bindings"])


#: the three places the allow list must reach: the query supervisor's processes, the web worker's
#: own thread, and the check before a query is sent to a remote store (which then calls the
#: service itself: an empty ``oxigraph serve``). Only the first was tested: a setting ignored in
#: the other two (planted by hand, issue 16 audit) passed every test.
FEDERATING = {"query processes": ["--query-processes", "1"], "in process": ["--query-processes", "0", "--dev"],
              "remote store": ["--backend", "remote"]}


@pytest.fixture(scope="module", params=list(FEDERATING))
def federating_server(request, release_dir, live_server, tmp_path_factory):
    """A server whose operator allow-listed the shared live server's endpoint, and nothing else."""
    extra = ["--service-allowlist", live_server.url("/sparql"), *FEDERATING[request.param]]
    store = None
    if request.param == "remote store":
        oxigraph = shutil.which("oxigraph")
        assert oxigraph, "the `oxigraph` server (PyPI package oxigraph, in the test extra) is not installed"
        port = free_port()
        store = ServerProcess("oxigraph serve", [oxigraph, "serve", "--location", str(tmp_path_factory.mktemp("store")),
                                                 "--bind", f"127.0.0.1:{port}"], port, 60)
        extra += ["--endpoint", store.url("/query")]
    server = LiveServer(release_dir, extra)
    yield server
    server.stop()
    if store is not None:
        store.stop()


def test_an_allow_listed_service_is_called_through_the_setting(federating_server, live_server, dump_store):
    """``--service-allowlist`` reaches the running server: SERVICE to the listed endpoint answers
    with that endpoint's data, and any other endpoint is still refused."""
    pattern = f"<{BASE}id/place/zhanaozen> <https://schema.org/name> ?name"
    query = f"SELECT ?name WHERE {{ SERVICE <{live_server.url('/sparql')}> {{ {pattern} }} }} ORDER BY ?name"
    response = requests.get(federating_server.url("/sparql"), params={"query": query},
                            headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert response.status_code == 200, response.text
    names = [row["name"]["value"] for row in response.json()["results"]["bindings"]]
    expected = [row["name"].value for row in dump_store.query(f"SELECT ?name WHERE {{ {pattern} }} ORDER BY ?name")]
    assert "Zhanaozen" in names and names == expected
    other = query.replace(live_server.url("/sparql"), live_server.url("/sparql/other"))
    refused = requests.get(federating_server.url("/sparql"), params={"query": other})
    assert refused.status_code == 403 and "/sparql/other" in refused.text


@pytest.fixture(scope="module")
def blank_node_release(tmp_path_factory) -> Path:
    """The bundled sources plus a curator's file of nested blank nodes and a list
    (tests/fixtures/blank-nodes): the bundled data has no blank node at all."""
    from kazdata.builder import build_release, quiet
    from kazdata.sources import bundled
    root = tmp_path_factory.mktemp("blank-nodes")
    sources = root / "sources"
    sources.mkdir()
    for path in [*bundled.sources_dir().glob("*.ttl"),
                 Path(__file__).parent / "fixtures" / "blank-nodes" / "archive-notes-2011-12-20.ttl"]:
        shutil.copy(path, sources / path.name)
    return build_release(root / "release", sources_dir=sources, progress=quiet)


def test_a_document_holds_the_blank_nodes_its_entity_reaches_however_deep(blank_node_release):
    """The concise bounded description: the entity's triples and, recursively, those of every
    anonymous node they reach (published as ``.well-known/genid/`` IRIs), found here by walking
    the dump parsed by pyoxigraph. A walk that stopped at the first level, or at none, passed
    every other test (planted by hand, issue 16 audit): the bundled data has no blank node."""
    from kazdata.settings import load_settings
    from kazdata.web.app import create_app
    dump = ox.Store()
    dump.load(path=str(blank_node_release / "dumps" / "kazdata.nt"), format=ox.RdfFormat.N_TRIPLES)
    entity = ox.NamedNode(f"{BASE}id/article/globalpost-2011-12-19")
    reached, pending, expected = {entity}, [entity], set()
    while pending:
        node = pending.pop()
        for triple in _triples(dump.query(f"CONSTRUCT WHERE {{ <{node.value}> ?p ?o }}")):
            expected.add(triple)
            if "/.well-known/genid/" in str(triple.object) and triple.object not in reached:
                reached.add(triple.object)
                pending.append(triple.object)
    assert len(reached) >= 1 + 2 + 2 + 3  # two identifiers, a note and its note, a list of three
    client = create_app(load_settings({"release": blank_node_release}, environ={})).test_client()
    document = _stored(client.get("/doc/article/globalpost-2011-12-19.nt").data)
    assert expected <= document, sorted(map(str, expected - document))[:3]
