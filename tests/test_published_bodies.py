"""The bodies the server sends for everything but entity documents, checked against files of the
repository and the release read by rdflib and hashlib, not against the code that serves them.

A status and a media type say a route answered; they do not say it answered with the right
thing (issue 16). ETags are compared with the release's SHA256SUMS: kazdata tags a stored file
with the first 32 hex digits of its SHA-256.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

ROOT = Path(__file__).resolve().parent.parent
SH = Namespace("http://www.w3.org/ns/shacl#")
SCHEMA = Namespace("https://schema.org/")
KAZ = Namespace("https://w3id.org/kazdata/ontology#")
RDFLIB_FORMAT = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml", "trig": "trig", "nq": "nquads"}
DUMP_EXTENSIONS = ("ttl", "nt", "jsonld", "rdf", "trig", "nq")


def _sums(release_dir: Path) -> dict[str, str]:
    """The release's SHA256SUMS, read here with a split (not with kazdata's reader)."""
    lines = (release_dir / "SHA256SUMS").read_text().splitlines()
    sums = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert len(sums) > 50
    return sums


def _etag(release_dir: Path, name: str) -> str:
    return f'"{_sums(release_dir)[name][:32]}"'


def _event_names(release_dir: Path) -> dict[str, str]:
    """Every event's English name by its document path, from the N-Triples dump parsed by rdflib."""
    graph = Graph().parse(release_dir / "dumps" / "kazdata.nt", format="nt")
    ontology = Graph().parse(ROOT / "ontology" / "kazdata.ttl", format="turtle")
    kinds = {SCHEMA.Event, *ontology.transitive_subjects(URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
                                                          SCHEMA.Event)}
    names = {}
    for kind in kinds:
        for event in graph.subjects(RDF.type, kind):
            for name in graph.objects(event, SCHEMA.name):
                if isinstance(name, Literal) and name.language == "en":
                    names[str(event).split("/id/", 1)[1]] = str(name)
    assert len(names) > 10
    return names


def _shapes_body(response: requests.Response, release_dir: Path) -> None:
    shapes = Graph().parse(ROOT / "shapes" / "kazdata-shapes.ttl", format="turtle")
    names = [str(name) for shape in shapes.subjects(RDF.type, SH.NodeShape) for name in shapes.objects(shape, SH.name)]
    assert len(names) > 10
    page = html.unescape(response.text)
    assert [name for name in names if name not in page] == []


def _unskolemised(graph: Graph) -> Graph:
    """The graph with the release's ``.well-known/genid/`` IRIs turned back into blank nodes."""
    def term(node):
        return BNode(str(node).rsplit("/", 1)[1]) if "/.well-known/genid/" in str(node) else node
    out = Graph()
    for s, p, o in graph:
        out.add((term(s), p, term(o)))
    return out


def _shapes_turtle(response: requests.Response, release_dir: Path) -> None:
    served = _unskolemised(Graph().parse(data=response.content, format="turtle"))
    assert isomorphic(served, Graph().parse(ROOT / "shapes" / "kazdata-shapes.ttl", format="turtle"))
    assert response.headers["ETag"] == _etag(release_dir, "shapes.ttl")


def _context(response: requests.Response, release_dir: Path) -> None:
    assert response.json() == json.loads((ROOT / "ontology" / "context.jsonld").read_text())
    assert response.headers["ETag"] == _etag(release_dir, "context.jsonld")


def _void(response: requests.Response, release_dir: Path) -> None:
    served = Graph().parse(data=response.content, format="turtle")
    assert isomorphic(served, Graph().parse(release_dir / "void.ttl", format="turtle"))
    triples = len(Graph().parse(release_dir / "dumps" / "kazdata.nt", format="nt"))
    dataset = URIRef("https://w3id.org/kazdata/dataset")
    assert int(served.value(dataset, URIRef("http://rdfs.org/ns/void#triples"))) == triples > 300
    assert response.headers["ETag"] == _etag(release_dir, "void.ttl")


def _sitemap(response: requests.Response, release_dir: Path) -> None:
    locations = set(re.findall(r"<loc>([^<]+)</loc>", response.text))
    root = "https://w3id.org/kazdata"  # the release's base: the Host header never makes a URL (issue 15)
    assert {f"{root}/doc/{path}" for path in _event_names(release_dir)} <= locations


def _dumps_listing(response: requests.Response, release_dir: Path) -> None:
    for extension in DUMP_EXTENSIONS:
        for name in (f"kazdata.{extension}", f"kazdata.{extension}.gz"):
            digest = hashlib.sha256((release_dir / "dumps" / name).read_bytes()).hexdigest()
            assert f'href="{name}"' in response.text or f'href="/dumps/{name}"' in response.text, name
            assert digest in response.text, name


def _dump_sums(response: requests.Response, release_dir: Path) -> None:
    lines = response.text.splitlines()
    expected = {f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}"
                for path in (release_dir / "dumps").iterdir() if path.name != "SHA256SUMS"}
    assert len(expected) == 2 * len(DUMP_EXTENSIONS)
    assert set(lines) == expected and len(lines) == len(expected)


def _release_sums(response: requests.Response, release_dir: Path) -> None:
    """Each line names a URL path this server sends, with the SHA-256 of the bytes it sends there
    (decision 011), and each digest is one of the release's own SHA256SUMS."""
    in_release = {line.split()[0] for line in (release_dir / "SHA256SUMS").read_text().splitlines()}
    lines = response.text.splitlines()
    assert len(lines) > 20
    root = response.url.rsplit("/", 1)[0]
    for line in lines:
        digest, path = line.split("  ", 1)
        assert digest in in_release, line
        sent = requests.get(f"{root}/{path}", headers={"Accept-Encoding": "identity"}, timeout=30)
        assert sent.status_code == 200, path
        assert hashlib.sha256(sent.content).hexdigest() == digest, path


def _timeline(response: requests.Response, release_dir: Path) -> None:
    page = html.unescape(response.text)
    names = _event_names(release_dir)
    assert [name for name in names.values() if name not in page] == []
    linked = re.findall(r'href="/doc/(event/[^"#]+)"', response.text)
    assert set(linked) == set(names)


def _event_index(response: requests.Response, release_dir: Path) -> None:
    linked = set(re.findall(r'href="/doc/(event/[^"#]+)"', response.text))
    assert linked == set(_event_names(release_dir))


BODIES: dict[str, tuple[str, Callable[[requests.Response, Path], None]]] = {
    "/shapes": ("text/html", _shapes_body),
    "/shapes.ttl": ("text/turtle", _shapes_turtle),
    "/context.jsonld": ("application/ld+json", _context),
    "/dataset": ("text/turtle", _void),
    "/.well-known/void": ("text/turtle", _void),
    "/sitemap.xml": ("application/xml", _sitemap),
    "/dumps/": ("text/html", _dumps_listing),
    "/dumps/SHA256SUMS": ("text/plain", _dump_sums),
    "/SHA256SUMS": ("text/plain", _release_sums),
    "/timeline": ("text/html", _timeline),
    "/index/event": ("text/html", _event_index),
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_everything_else_that_has_a_uri_sends_the_right_body(live_server, release_dir, path):
    media_type, check = BODIES[path]
    response = requests.get(live_server.url(path), headers={"Accept": media_type if media_type == "text/html" else "*/*"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    check(response, release_dir)


@pytest.mark.parametrize("resource, source", [("/dataset", "void"), ("/ontology", "ontology"), ("/shapes", "shapes")])
def test_every_alternate_holds_the_same_graph(live_server, release_dir, resource, source):
    """Each alternate the Link header names parses, in its own format, to the release's graph."""
    expected = Graph().parse(release_dir / f"{source}.ttl", format="turtle")
    response = requests.get(live_server.url(resource), headers={"Accept": "text/turtle"})
    assert isomorphic(Graph().parse(data=response.content, format="turtle"), expected)
    alternates = re.findall(r'<(/[^>]+)>; rel="alternate"; type="([^"]+)"', response.headers["Link"])
    assert sorted(media for _, media in alternates) == ["application/ld+json", "application/n-triples",
                                                        "application/rdf+xml", "text/html"]
    for target, media_type in alternates:
        got = requests.get(live_server.url(target))
        assert got.status_code == 200 and got.headers["Content-Type"].split(";")[0] == media_type, target
        if media_type == "text/html":
            assert got.text.startswith("<!doctype html>")
            continue
        extension = target.rsplit(".", 1)[1]
        assert isomorphic(Graph().parse(data=got.content, format=RDFLIB_FORMAT[extension]), expected), target
        assert got.headers["ETag"] == _etag(release_dir, f"{source}.{extension}")


@pytest.mark.parametrize("extension", DUMP_EXTENSIONS)
def test_each_gzipped_dump_decompresses_to_the_plain_dump(live_server, release_dir, extension):
    identity = {"Accept-Encoding": "identity"}
    plain = requests.get(live_server.url(f"/dumps/kazdata.{extension}"), headers=identity)
    zipped = requests.get(live_server.url(f"/dumps/kazdata.{extension}.gz"), headers=identity)
    assert plain.status_code == zipped.status_code == 200
    assert plain.content == (release_dir / "dumps" / f"kazdata.{extension}").read_bytes()
    assert gzip.decompress(zipped.content) == plain.content
    assert plain.headers["ETag"] == _etag(release_dir, f"dumps/kazdata.{extension}")
    assert zipped.headers["ETag"] == _etag(release_dir, f"dumps/kazdata.{extension}.gz")


PLACES = "SELECT ?name WHERE { ?p a schema:Place ; schema:name ?name FILTER(LANG(?name) = 'en') } ORDER BY ?name"


@pytest.mark.parametrize("parameter", ["format", "output", "results"])
@pytest.mark.parametrize("value, media_type", [("csv", "text/csv"), ("json", "application/sparql-results+json"),
                                               ("xml", "application/sparql-results+xml"),
                                               ("tsv", "text/tab-separated-values")])
def test_the_format_parameter_chooses_the_body_not_only_the_header(live_server, dump_store, parameter, value, media_type):
    import pyoxigraph as ox
    # a browser's link: with ``download`` it gets the data (without, the query page: decision 021)
    response = requests.get(live_server.url("/sparql"), params={"query": PLACES, parameter: value, "download": ""},
                            headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.headers["Content-Type"].split(";")[0] == media_type
    expected = [row["name"].value for row in dump_store.query(PLACES, prefixes={"schema": "https://schema.org/"})]
    assert "hotel in Zhanaozen" in expected and len(expected) > 3
    if value == "csv":  # lossy, so pyoxigraph does not parse it: Python's csv module does
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
        assert rows[0] == ["name"] and [row[0] for row in rows[1:]] == expected
        return
    parsed = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.from_media_type(media_type))
    assert [row["name"].value for row in parsed] == expected
