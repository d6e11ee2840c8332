"""The format registry (``kazdata.formats``) in process: each format's media types, extension,
Content-Type and W3C name as the registrations state them (written here: IANA's media types,
https://www.w3.org/ns/formats/), and the writers' output read back by independent parsers
(rdflib's JSON-LD, pyoxigraph's N-Triples). Written for the mutants ``bench/mutation.py formats``
found alive, so they run first in its selection.
"""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from kazdata import formats
from kazdata.formats import (
    DATASET_FORMATS,
    DOCUMENT_FORMATS,
    DUMP_FORMATS,
    ERROR_FORMATS,
    FILE_FORMATS,
    GRAPH_FORMATS,
    RESULT_FORMATS,
    Style,
    by_name,
    compact_jsonld,
    file_content_type,
    prefixes_used_by,
    sort_triples,
    to_rdflib,
)
from kazdata.sparql.results import write_csv, write_json, write_tsv, write_xml

EX = "https://example.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
W3C = "http://www.w3.org/ns/formats/"

#: extension -> (name, media types in order, W3C format IRI, place of the dump job), as registered
GRAPHS = {
    "ttl": ("turtle", ("text/turtle", "application/x-turtle", "application/turtle"), W3C + "Turtle", 0),
    "jsonld": ("jsonld", ("application/ld+json", "application/json"), W3C + "JSON-LD", 3),
    "nt": ("ntriples", ("application/n-triples", "text/plain"), W3C + "N-Triples", 5),
    "rdf": ("rdfxml", ("application/rdf+xml", "application/xml"), W3C + "RDF_XML", 1),
}
DATASETS = {"trig": ("trig", ("application/trig",), W3C + "TriG", 2),
            "nq": ("nquads", ("application/n-quads",), W3C + "N-Quads", 4)}
RESULTS = {
    "srj": ("json", ("application/sparql-results+json", "application/json"), W3C + "SPARQL_Results_JSON", write_json),
    "srx": ("xml", ("application/sparql-results+xml", "application/xml", "text/xml"), W3C + "SPARQL_Results_XML",
            write_xml),
    "csv": ("csv", ("text/csv",), W3C + "SPARQL_Results_CSV", write_csv),
    "tsv": ("tsv", ("text/tab-separated-values",), W3C + "SPARQL_Results_TSV", write_tsv),
}
OXIGRAPH = {"ttl": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES,
            "rdf": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS,
            "srj": ox.QueryResultsFormat.JSON, "srx": ox.QueryResultsFormat.XML, "csv": ox.QueryResultsFormat.CSV,
            "tsv": ox.QueryResultsFormat.TSV}


def test_the_graph_and_dataset_formats_are_the_registered_ones_in_order():
    assert list(GRAPH_FORMATS) == list(GRAPHS)  # Turtle first: the choice on a tie
    assert list(DOCUMENT_FORMATS) == [*GRAPHS, "html"] and list(DATASET_FORMATS) == list(DATASETS)
    assert [f.extension for f in DUMP_FORMATS] == [*GRAPHS, *DATASETS]
    for extension, (name, media_types, w3c, order) in {**GRAPHS, **DATASETS}.items():
        fmt = FILE_FORMATS[extension]
        assert (fmt.name, fmt.media_types, fmt.w3c, fmt.dump_order, fmt.extension) == (
            name, media_types, w3c, order, extension)
        assert fmt.media_type == media_types[0] and fmt.content_type == f"{media_types[0]}; charset=utf-8"
        assert fmt.rdf_format == OXIGRAPH[extension] and fmt.results_writer is None
    html = DOCUMENT_FORMATS["html"]
    assert (html.name, html.media_types, html.serializer, html.w3c, html.dump_order) == (
        "html", ("text/html", "application/xhtml+xml"), None, None, None)


def test_the_results_formats_are_the_registered_ones():
    assert list(RESULT_FORMATS) == list(RESULTS)
    for extension, (name, media_types, w3c, writer) in RESULTS.items():
        fmt = RESULT_FORMATS[extension]
        assert (fmt.name, fmt.media_types, fmt.w3c, fmt.results_writer, fmt.oxigraph, fmt.serializer) == (
            name, media_types, w3c, writer, OXIGRAPH[extension], None)
        with pytest.raises(TypeError, match=f"{fmt.label} is not an RDF format of Oxigraph"):
            _ = fmt.rdf_format
        with pytest.raises(TypeError, match=f"{fmt.label} is not a format of one graph"):
            fmt.serialize([], Style({}))


def test_errors_are_written_in_plain_text_html_or_json_in_that_order():
    assert [(f.name, f.media_types) for f in ERROR_FORMATS] == [
        ("text", ("text/plain",)), ("html", ("text/html", "application/xhtml+xml")),
        ("json", ("application/json", "application/ld+json", "application/sparql-results+json"))]


@pytest.mark.parametrize("name, content_type", [
    ("a.ttl", "text/turtle; charset=utf-8"), ("a.jsonld", "application/ld+json; charset=utf-8"),
    ("a.nt", "application/n-triples; charset=utf-8"), ("a.rdf", "application/rdf+xml; charset=utf-8"),
    ("a.en.html", "text/html; charset=utf-8"), ("dumps/kazdata.trig", "application/trig; charset=utf-8"),
    ("kazdata.nq", "application/n-quads; charset=utf-8"), ("kazdata.nq.gz", "application/gzip"),
    ("sitemap.xml", "application/xml; charset=utf-8"), ("static/site.css", "text/css; charset=utf-8"),
    ("static/map.js", "text/javascript; charset=utf-8"), ("robots.txt", "text/plain; charset=utf-8"),
    ("favicon.ico", "image/vnd.microsoft.icon"), ("SHA256SUMS", "application/octet-stream"),
    ("a.bin", "application/octet-stream"), ("a.TTL", "application/octet-stream"),
])
def test_a_file_is_sent_with_the_content_type_of_its_extension(name, content_type):
    assert file_content_type(name) == content_type


@pytest.mark.parametrize("name, table, extension", [
    ("ttl", GRAPH_FORMATS, "ttl"), (" Turtle ", GRAPH_FORMATS, "ttl"), ("TEXT/TURTLE", GRAPH_FORMATS, "ttl"),
    ("application/x-turtle", GRAPH_FORMATS, "ttl"), ("jsonld", GRAPH_FORMATS, "jsonld"),
    ("application/json", GRAPH_FORMATS, "jsonld"), ("ntriples", GRAPH_FORMATS, "nt"), ("rdfxml", GRAPH_FORMATS, "rdf"),
    ("json", RESULT_FORMATS, "srj"), ("srx", RESULT_FORMATS, "srx"), ("text/xml", RESULT_FORMATS, "srx"),
    ("csv", RESULT_FORMATS, "csv"), ("text/tab-separated-values", RESULT_FORMATS, "tsv"),
    ("html", DOCUMENT_FORMATS, "html"), ("nquads", DATASET_FORMATS, "nq"),
])
def test_a_format_is_found_by_extension_name_or_media_type(name, table, extension):
    assert by_name(name, table) is table[extension]


@pytest.mark.parametrize("name, table", [("html", GRAPH_FORMATS), ("n3", GRAPH_FORMATS), ("", RESULT_FORMATS),
                                         ("text/turtle", RESULT_FORMATS), ("turtles", GRAPH_FORMATS)])
def test_a_format_not_in_the_table_is_not_found(name, table):
    assert by_name(name, table) is None


def test_binary_files_have_no_charset():
    assert [f.extension for f in FILE_FORMATS.values() if not f.text] == ["gz", "ico"]
    assert formats.GZIP.content_type == "application/gzip"


def _triple(s: str, p: str, o: ox.NamedNode | ox.Literal | ox.BlankNode) -> ox.Triple:
    return ox.Triple(ox.NamedNode(EX + s), ox.NamedNode(p if p.startswith("http") else EX + p), o)


def test_triples_are_sorted_by_subject_then_type_first_then_predicate_and_object_once_each():
    b_type = _triple("b", RDF_TYPE, ox.NamedNode(EX + "Thing"))
    b_a = _triple("b", "a", ox.Literal("x"))
    b_z1, b_z2 = _triple("b", "z", ox.Literal("1")), _triple("b", "z", ox.Literal("2"))
    a_z = _triple("a", "z", ox.Literal("0"))
    assert sort_triples([b_z2, b_a, b_z1, b_type, a_z, b_z1]) == [a_z, b_type, b_a, b_z1, b_z2]


def test_only_the_prefixes_a_document_uses_and_none_that_would_hide_a_slash():
    prefixes = {"ex": EX, "xsd": XSD, "unused": "https://unused.example/", "id": EX + "id/"}
    triples = [_triple("s", "p", ox.Literal("3", datatype=ox.NamedNode(XSD + "integer")))]
    written = formats.TURTLE.serialize(triples, Style(prefixes))
    assert b"@prefix ex: <https://example.org/>" in written and b"@prefix xsd:" in written
    assert b"unused" not in written and b"@prefix id:" not in written
    assert prefixes_used_by({EX + "id/place/aktau"}, prefixes) == {}  # ex: would print ex:id\/place\/aktau
    assert prefixes_used_by({EX + "id/place"}, prefixes) == {"id": EX + "id/"}
    assert prefixes_used_by({EX + "a", EX + "b"}, prefixes) == {"ex": EX}
    assert list(prefixes_used_by({EX + "id/x", XSD + "date"}, {"xsd": XSD, "id": EX + "id/"})) == ["id", "xsd"]


GRAPH = [_triple("aktau", RDF_TYPE, ox.NamedNode("https://schema.org/City")),
         _triple("aktau", "name", ox.Literal("Актау", language="kk")),
         _triple("aktau", "name", ox.Literal("Aktau", language="en")),
         _triple("aktau", "near", ox.NamedNode(EX + "zhanaozen")),
         _triple("zhanaozen", "founded", ox.Literal("1968", datatype=ox.NamedNode(XSD + "gYear"))),
         _triple("zhanaozen", "population", ox.Literal("150000", datatype=ox.NamedNode(XSD + "integer")))]


def _rdflib(triples: list[ox.Triple]) -> rdflib.Graph:
    return rdflib.Graph().parse(data="".join(f"{t} .\n" for t in triples), format="nt")


@pytest.mark.parametrize("extension, parser", [("ttl", "turtle"), ("nt", "nt"), ("rdf", "xml"), ("jsonld", "json-ld")])
def test_every_graph_format_writes_the_triples_rdflib_reads_back(extension, parser):
    style = Style({"ex": EX, "xsd": XSD}, {"ex": EX, "name": {"@id": EX + "name", "@container": "@set"}})
    written = GRAPH_FORMATS[extension].serialize(GRAPH, style)
    assert written == GRAPH_FORMATS[extension].serialize(list(reversed(GRAPH)), style)  # the same bytes
    assert isomorphic(rdflib.Graph().parse(data=written, format=parser), _rdflib(GRAPH))


def test_n_triples_are_written_as_sorted_lines():
    lines = formats.N_TRIPLES.serialize(list(reversed(GRAPH)), Style({})).decode().splitlines()
    assert lines == sorted(f"{t} ." for t in GRAPH)


def test_to_rdflib_gives_rdflib_the_same_triples():
    assert isomorphic(to_rdflib(GRAPH), _rdflib(GRAPH)) and len(to_rdflib(GRAPH)) == len(GRAPH)


def test_json_ld_embeds_the_context_sorts_the_nodes_and_keeps_lists_in_order():
    context = {"ex": EX, "name": {"@id": EX + "name"}}
    list_node = ox.BlankNode("l1")
    first, rest, nil = (f"http://www.w3.org/1999/02/22-rdf-syntax-ns#{n}" for n in ("first", "rest", "nil"))
    items = [ox.Triple(list_node, ox.NamedNode(first), ox.Literal("z")),
             ox.Triple(list_node, ox.NamedNode(rest), ox.BlankNode("l2")),
             ox.Triple(ox.BlankNode("l2"), ox.NamedNode(first), ox.Literal("a")),
             ox.Triple(ox.BlankNode("l2"), ox.NamedNode(rest), ox.NamedNode(nil)),
             _triple("zhanaozen", "steps", list_node)]
    written = compact_jsonld([*GRAPH, *items], Style({}, context))
    assert written.endswith(b"}\n") and "Актау".encode() in written  # UTF-8, not \\u escapes
    document = json.loads(written)
    assert list(document) == ["@context", "@graph"] and document["@context"] == context
    ids = [node["@id"] for node in document["@graph"]]
    assert ids == sorted(ids) and len(ids) == 2
    zhanaozen = next(node for node in document["@graph"] if node["@id"].endswith("zhanaozen"))
    steps = next(value for key, value in zhanaozen.items() if key.endswith("steps"))
    steps = steps[0] if isinstance(steps, list) else steps
    assert steps["@list"] == ["z", "a"]  # a list keeps its order; other arrays are sorted
    aktau = next(node for node in document["@graph"] if node["@id"].endswith("aktau"))
    assert aktau["name"] == sorted(aktau["name"], key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    assert written == (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    assert isomorphic(rdflib.Graph().parse(data=written, format="json-ld"), _rdflib([*GRAPH, *items]))


def test_json_ld_of_one_node_and_of_none_is_still_a_graph():
    one = json.loads(compact_jsonld(GRAPH[:1], Style({}, {"ex": EX})))
    assert one["@context"] == {"ex": EX} and [node["@id"] for node in one["@graph"]] == ["ex:aktau"]
    assert json.loads(compact_jsonld([], Style({}, {"ex": EX}))) == {"@context": {"ex": EX}, "@graph": []}


def test_json_ld_refuses_what_rdflib_cannot_write_with_a_value_error():
    quoted = ox.Triple(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("o"))
    with pytest.raises(ValueError, match="rdflib cannot write this graph as JSON-LD"):
        compact_jsonld([_triple("claim", "says", quoted)], Style({}))
