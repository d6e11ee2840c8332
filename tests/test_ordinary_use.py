"""What clients do every day, against the real server process (issue 14, "HTTP" and "SPARQL 1.1
Protocol"): Accept headers with parameters, CORS preflights, every published IRI dereferencing,
one canonical answer, and the protocol's dataset, base-IRI and long-URL rules.

Expected values come from the standards and from the release's files, never from the code under
test: media types are written out, IRIs are collected from the dumps and the VoID file with rdflib.
"""

from __future__ import annotations

import pytest
import requests

from tests.conftest import LiveServer

#: ``/doc/`` by plain GET is answered by FastDocuments, with a query string by the Flask route
DOCUMENT_PATHS = ["/doc/place/aktau", "/doc/place/aktau?via=flask"]
JSON_LD_PROFILE = 'application/ld+json;profile="http://www.w3.org/ns/json-ld#{}"'


def _media_type(response: requests.Response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


@pytest.mark.parametrize("path", [*DOCUMENT_PATHS, "/ontology", "/dataset"])
@pytest.mark.parametrize("accept, expected", [
    ("text/turtle; charset=utf-8", "text/turtle"),
    ("text/turtle;charset=UTF-8", "text/turtle"),
    ("application/n-triples;charset=utf-8", "application/n-triples"),
    ("application/rdf+xml; charset=utf-8; q=0.9", "application/rdf+xml"),
    (JSON_LD_PROFILE.format("compacted"), "application/ld+json"),
    (JSON_LD_PROFILE.format("flattened"), "application/ld+json"),
    (JSON_LD_PROFILE.format("expanded"), "application/ld+json"),  # not written: the profile is ignored
    ('application/ld+json; profile="https://example.org/other"', "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("text/turtle; charset=iso-8859-1, application/n-triples;q=0.5", "application/n-triples"),
])
def test_accept_parameters_are_understood(live_server, path, accept, expected):
    response = requests.get(live_server.url(path), headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert _media_type(response) == expected


@pytest.mark.parametrize("path", DOCUMENT_PATHS)
def test_a_charset_other_than_utf8_is_not_acceptable(live_server, path):
    response = requests.get(live_server.url(path), headers={"Accept": "text/turtle; charset=iso-8859-1"})
    assert response.status_code == 406


@pytest.mark.parametrize("accept", ["application/sparql-results+json; charset=utf-8",
                                    "application/sparql-results+json;charset=UTF-8;q=0.8, text/csv;q=0.1"])
def test_sparql_results_accept_with_parameters(live_server, accept):
    response = requests.get(live_server.url("/sparql"), params={"query": "ASK {}"}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert _media_type(response) == "application/sparql-results+json"
    assert response.json()["boolean"] is True


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "text/html"])
def test_the_406_body_lists_each_offered_type_once(live_server, accept):
    response = requests.get(live_server.url("/doc/place/aktau"), headers={"Accept": "image/png, " + accept + ";q=0"})
    assert response.status_code == 406
    for media_type in ("text/turtle", "application/rdf+xml", "application/ld+json", "application/xhtml+xml"):
        assert response.text.count(media_type) == 1, (media_type, response.text)


PREFLIGHT_PATHS = ["/id/place/aktau", "/doc/place/aktau", "/doc/place/aktau.ttl", "/ontology", "/dataset",
                   "/graph/ontology", "/dumps/kazdata.ttl", "/sparql", "/"]


@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
def test_cors_preflight_allows_conditional_and_accept_headers(live_server, path):
    asked = "if-none-match, accept, accept-language, if-modified-since"
    response = requests.options(live_server.url(path), headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": asked})
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in [m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-none-match", "accept", "accept-language", "if-modified-since"} <= allowed
    # without Access-Control-Request-Headers the conditional and Accept headers are allowed all the same
    plain = requests.options(live_server.url(path), headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"})
    allowed = {h.strip().lower() for h in plain.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-none-match", "accept", "if-modified-since"} <= allowed


@pytest.mark.parametrize("path", ["/doc/place/aktau", "/doc/place/aktau?via=flask", "/id/place/aktau"])
def test_cross_origin_reads_see_the_headers_they_need(live_server, path):
    response = requests.get(live_server.url(path), headers={"Origin": "https://elsewhere.example"},
                            allow_redirects=False)
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "link", "content-location", "x-kazdata-truncated"} <= exposed


def _published_iris(release_dir) -> set[str]:
    """Every IRI under the base that the release's RDF names (fragments cut off: ``#x`` is
    dereferenced with the document), read with rdflib from the files, not from the server."""
    from rdflib import Dataset, Graph, URIRef

    dataset = Dataset()
    dataset.parse(release_dir / "dumps" / "kazdata.nq", format="nquads")
    graphs = [dataset, *(Graph().parse(release_dir / name, format="turtle")
                         for name in ("void.ttl", "ontology.ttl", "shapes.ttl"))]
    iris = {str(context.identifier) for context in dataset.graphs()}
    for graph in graphs:
        for triple in graph.triples((None, None, None)):
            iris.update(str(term) for term in triple if isinstance(term, URIRef))
    return {iri.split("#", 1)[0] for iri in iris if iri.startswith(BASE)}


BASE = "https://w3id.org/kazdata/"
#: Skolem IRIs stand for blank nodes (RDF 1.1 §3.5): names that stay the same across dumps, not
#: resources with a document of their own (docs/decisions/011).
SKOLEM = BASE + ".well-known/genid/"


def test_every_iri_the_data_publishes_dereferences(live_server, release_dir):
    iris = _published_iris(release_dir)
    for expected in ("id/", "graph/ontology", "ontology/0.1.0", "dataset", "sparql"):
        assert BASE + expected in iris  # the collection itself is not empty or wrong
    session = requests.Session()
    failed = {}
    for iri in sorted(iris):
        if iri.startswith(SKOLEM):
            continue
        response = session.get(live_server.url("/" + iri[len(BASE):]), headers={"Accept": "*/*"})
        if response.status_code != 200:
            failed[iri] = response.status_code
    assert not failed, failed


@pytest.mark.parametrize("accept, media_type, rdflib_format", [
    ("text/turtle", "text/turtle", "turtle"), ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/n-triples", "application/n-triples", "nt"), ("application/rdf+xml", "application/rdf+xml", "xml"),
])
def test_named_graph_iris_serve_the_graph(live_server, release_dir, accept, media_type, rdflib_format):
    """``/graph/{name}`` holds exactly the triples of that graph in the N-Quads dump."""
    from rdflib import Dataset, Graph, URIRef
    from rdflib.compare import isomorphic

    dataset = Dataset()
    dataset.parse(release_dir / "dumps" / "kazdata.nq", format="nquads")
    names = [str(c.identifier) for c in dataset.graphs() if str(c.identifier).startswith(BASE + "graph/")]
    assert len(names) >= 2
    for iri in names:
        expected = Graph()
        for triple in dataset.graph(URIRef(iri)):
            expected.add(triple)
        response = requests.get(live_server.url("/" + iri[len(BASE):]), headers={"Accept": accept})
        assert response.status_code == 200 and _media_type(response) == media_type
        served = Graph().parse(data=response.content, format=rdflib_format)
        assert len(served) == len(expected) > 0 and isomorphic(served, expected), iri
    assert requests.get(live_server.url("/graph/no-such-graph")).status_code == 404


def test_the_ontology_version_iri_serves_this_releases_ontology(live_server):
    versioned = requests.get(live_server.url("/ontology/0.1.0"), headers={"Accept": "text/turtle"})
    current = requests.get(live_server.url("/ontology"), headers={"Accept": "text/turtle"})
    assert versioned.status_code == 200 and versioned.content == current.content
    assert "owl:versionIRI <https://w3id.org/kazdata/ontology/0.1.0>" in versioned.text
    assert requests.get(live_server.url("/ontology/0.0.9")).status_code == 404


def test_the_root_resource_leads_to_the_dataset_description(live_server):
    response = requests.get(live_server.url("/id/"), allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/dataset"


def test_every_checksum_entry_is_served_with_that_checksum(live_server):
    import hashlib

    listing = requests.get(live_server.url("/SHA256SUMS")).text
    entries = [line.split("  ", 1) for line in listing.splitlines()]
    names = {name for _digest, name in entries}
    assert {"dumps/kazdata.nq", "ontology.ttl", "dataset.ttl", "graph/ontology.ttl", "context.jsonld"} <= names
    session = requests.Session()
    for digest, name in entries:
        response = session.get(live_server.url("/" + name), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, name
        assert hashlib.sha256(response.content).hexdigest() == digest, name


# -- SPARQL 1.1 Protocol --------------------------------------------------------------------

ONTOLOGY_GRAPH = BASE + "graph/ontology"


def _count(live_server, query: str, **params) -> int:
    response = requests.get(live_server.url("/sparql"), params={"query": query, **params},
                            headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _graph_size(release_dir, graph: str) -> int:
    """Quads of ``graph`` in the N-Quads dump, counted on its lines (not through the endpoint)."""
    suffix = f" <{graph}> .\n".encode()
    with open(release_dir / "dumps" / "kazdata.nq", "rb") as dump:
        return sum(1 for line in dump if line.endswith(suffix))


@pytest.mark.parametrize("query, params", [
    ("SELECT (COUNT(*) AS ?n) FROM <http://example.org/not-here> WHERE { ?s ?p ?o }", {}),
    ("SELECT (COUNT(*) AS ?n) FROM NAMED <http://example.org/not-here> WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
    ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {"default-graph-uri": "http://example.org/not-here"}),
    ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", {"named-graph-uri": "http://example.org/not-here"}),
])
def test_a_graph_the_release_lacks_is_an_empty_graph(live_server, query, params):
    assert _count(live_server, query, **params) == 0


@pytest.mark.parametrize("other", [BASE + "graph/globalpost-2011-12-19", "http://example.org/other"])
def test_the_protocol_dataset_replaces_the_querys_from(live_server, release_dir, other):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{other}> WHERE {{ ?s ?p ?o }}"
    expected = _graph_size(release_dir, ONTOLOGY_GRAPH)
    assert expected > 0 and expected != _graph_size(release_dir, other)
    assert _count(live_server, query, **{"default-graph-uri": ONTOLOGY_GRAPH}) == expected
    response = requests.post(live_server.url("/sparql"), data={"query": query, "default-graph-uri": ONTOLOGY_GRAPH},
                             headers={"Accept": "application/sparql-results+json"})
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == expected


def test_relative_iris_resolve_against_the_endpoint(live_server):
    response = requests.get(live_server.url("/sparql"), params={"query": "SELECT (STR(<rel-x>) AS ?s) {}"},
                            headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    # the endpoint's public URL is the base: the release's base (no --public-url), never the Host header
    assert response.json()["results"]["bindings"][0]["s"]["value"] == "https://w3id.org/kazdata/rel-x"
    based = requests.get(live_server.url("/sparql"), params={"query": "BASE <http://example.org/a/> SELECT (STR(<b>) AS ?s) {}"},
                         headers={"Accept": "application/sparql-results+json"})
    assert based.json()["results"]["bindings"][0]["s"]["value"] == "http://example.org/a/b"  # the query's BASE wins


@pytest.mark.parametrize("accept, media_type", [(None, "text/plain"), ("application/json", "application/json")])
def test_a_url_too_long_is_414_saying_to_post(live_server, accept, media_type):
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 1 #" + "x" * 20_000
    headers = {"Accept": accept} if accept else {}
    response = requests.get(live_server.url("/sparql"), params={"query": query}, headers=headers)
    assert response.status_code == 414
    assert _media_type(response) == media_type
    assert "POST" in response.text and "Traceback" not in response.text
    posted = requests.post(live_server.url("/sparql"), data={"query": query},
                           headers={"Accept": "application/sparql-results+json"})
    assert posted.status_code == 200


def _raw_get(port: int, target: str) -> tuple[int, dict, bytes]:
    """One GET on a fresh connection, read to its close or its Content-Length (requests would
    not show what a server sends before it reads the whole line)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("length", [9_000, 70_000])
def test_past_gunicorns_own_limit_a_url_still_gets_the_414_saying_to_post(release_dir, length):
    """gunicorn stops reading a request line at 8190 bytes and used to answer with its own HTML
    page ("Request Line is too large"); kazdata's worker answers with the app's text."""
    server = LiveServer(release_dir, ["--server", "gunicorn", "--workers", "1"])
    try:
        status, headers, body = _raw_get(server.port, "/sparql?query=" + "x" * length)
    finally:
        server.stop()
    assert status == 414
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    assert b"by POST" in body and b"<html" not in body


def test_past_granians_own_limit_a_url_gets_granians_empty_414(live_server):
    """What decision 011 says granian does and kazdata cannot change: a request target over
    65,534 bytes is refused by the HTTP parser granian is built on (hyper), before any Python
    runs, with an empty 414; up to that, the app's 414 says to POST."""
    status, _headers, body = _raw_get(live_server.port, "/sparql?query=" + "x" * 60_000)
    assert status == 414 and b"by POST" in body
    status, headers, body = _raw_get(live_server.port, "/sparql?query=" + "x" * 70_000)
    assert (status, headers.get("content-length"), body) == (414, "0", b"")


# -- One answer per question ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/doc/place/aktau", "/doc/event/zhanaozen-shooting-2011-12-16"])
def test_rel_canonical_is_the_same_in_the_page_and_the_link_header(live_server, path):
    import re

    response = requests.get(live_server.url(path), headers={"Accept": "text/html"})
    in_page = re.findall(r'<link rel="canonical" href="([^"]+)">', response.text)
    in_header = re.findall(r'<([^>]+)>; rel="canonical"', response.headers["Link"])
    assert in_page == in_header == [BASE + path[1:]]  # the document, not the thing it is about


@pytest.mark.parametrize("path", ["/doc/place/aktau/", "/doc/place/aktau.ttl/", "/doc/place/aktau/?via=flask"])
def test_a_trailing_slash_is_not_a_second_url_of_a_document(live_server, path):
    response = requests.get(live_server.url(path), allow_redirects=False)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/doc/place/aktau", "/ontology", "/dataset", "/graph/ontology"])
def test_n3_and_json_suffixes_are_refused_alike_everywhere(live_server, path):
    """Suffixes are the formats' own extensions; text/n3 is not offered (decision 011)."""
    for suffix in ("n3", "json"):
        response = requests.get(live_server.url(f"{path}.{suffix}"))
        assert response.status_code == 404 and ".ttl" in response.text, (path, suffix)
    refused = requests.get(live_server.url(path), headers={"Accept": "text/n3"})
    assert refused.status_code == 406


def test_the_figure_line_keeps_its_links_apart(live_server):
    import re

    page = requests.get(live_server.url("/doc/event/zhanaozen-shooting-2011-12-16"), headers={"Accept": "text/html"}).text
    lines = re.findall(r'<li class="(?:figure|statement)">.*?</li>', page)
    assert lines
    for line in lines:
        assert not re.search(r"</a>\s*<a", line), line  # two links with nothing between them read as one


def test_property_labels_follow_one_rule(live_server, release_dir):
    """The ontology's rdfs:label where it has one; otherwise the local name's words, lower case
    (as the ontology writes its own labels): never a raw camelCase name."""
    import re

    from rdflib import RDFS, Graph

    ontology = Graph().parse(release_dir / "ontology.ttl", format="turtle")
    labels = {str(s): str(o) for s, o in ontology.subject_objects(RDFS.label)}
    checked = 0
    for path in ("/doc/event/zhanaozen-shooting-2011-12-16", "/doc/claim/zhanaozen-shooting-deaths-nyt",
                 "/doc/article/globalpost-2011-12-19", "/doc/quotation/kasymov-no-order"):
        page = requests.get(live_server.url(path), headers={"Accept": "text/html"})
        if page.status_code == 404:
            continue
        for href, label in re.findall(r'<th><a href="([^"]+)">([^<]+)</a></th>', page.text):
            iri = BASE + "ontology#" + href[len("/ontology#"):] if href.startswith("/ontology#") else href
            local = re.split(r"[#/]", iri)[-1]
            expected = labels.get(iri) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).lower()
            assert label == expected, (path, iri)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("host", ["evil.example>", "a{b", "a%zz", "a|b", "attacker.example"])
def test_the_host_header_never_becomes_the_base(live_server, host):
    """Relative IRIs resolve against the public endpoint URL, whatever Host the client sends."""
    response = requests.get(live_server.url("/sparql"), params={"query": "SELECT (STR(<rel-x>) AS ?s) {}"},
                            headers={"Host": host, "Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"][0]["s"]["value"] == "https://w3id.org/kazdata/rel-x"
