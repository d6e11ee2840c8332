"""Every results and RDF writer, given every kind of term, read back by a parser that is not ours.

One SELECT binds an integer, a date, a language string, a blank node, an IRI, a variable left
unbound, a string with quotes, a comma, a tab, a newline and non-ASCII letters, and a triple
term; one CONSTRUCT puts the same literals and blank nodes in a graph. The expected values are
written here; the answers are read by the standard library (JSON, XML, CSV), by pyoxigraph's
results parser (TSV) and by rdflib (every RDF format). Triple terms are not in the CONSTRUCT:
rdflib, the independent RDF parser, does not read RDF 1.2.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
import requests
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

TEXT = 'say "hi", then\ttab\nnew line; Жаңаөзен ë \u2014 \U0001F600'
TEXT_SPARQL = TEXT.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
EX = "https://example.org/"
VARIABLES = ["int", "date", "lang", "bnode", "unbound", "text", "triple", "iri", "lines"]
#: needs quoting in CSV for its line break alone
LINES = "first line\r\nsecond line"
SELECT = f"""SELECT {" ".join("?" + v for v in VARIABLES)} WHERE {{
  VALUES (?int ?date ?lang ?text ?unbound) {{ (42 "2011-12-16"^^xsd:date "Жаңаөзен"@kk "{TEXT_SPARQL}" UNDEF) }}
  BIND(BNODE() AS ?bnode)
  BIND(<<( <{EX}s> <{EX}p> "o"@en )>> AS ?triple)
  BIND(<{EX}x> AS ?iri)
  BIND("first line\\r\\nsecond line" AS ?lines)
}}"""
CONSTRUCT = f"""CONSTRUCT {{ <{EX}s> <{EX}p> ?o . <{EX}s> <{EX}r> _:b . _:b <{EX}q> ?o }} WHERE {{
  VALUES ?o {{ 42 "2011-12-16"^^xsd:date "Жаңаөзен"@kk "{TEXT_SPARQL}" <{EX}x> }} }}"""
XSD_NS = "http://www.w3.org/2001/XMLSchema#"


def _ask(live_server, query: str, media_type: str) -> requests.Response:
    response = requests.get(live_server.url("/sparql"), params={"query": query}, headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == media_type
    return response


def test_json_results_carry_every_kind_of_term(live_server):
    body = _ask(live_server, SELECT, "application/sparql-results+json").json()
    assert body["head"]["vars"] == VARIABLES
    [row] = body["results"]["bindings"]
    assert row.pop("bnode")["type"] == "bnode"
    assert row == {
        "int": {"type": "literal", "value": "42", "datatype": XSD_NS + "integer"},
        "date": {"type": "literal", "value": "2011-12-16", "datatype": XSD_NS + "date"},
        "lang": {"type": "literal", "value": "Жаңаөзен", "xml:lang": "kk"},
        "text": {"type": "literal", "value": TEXT},
        "triple": {"type": "triple", "value": {"subject": {"type": "uri", "value": EX + "s"},
                                               "predicate": {"type": "uri", "value": EX + "p"},
                                               "object": {"type": "literal", "value": "o", "xml:lang": "en"}}},
        "iri": {"type": "uri", "value": EX + "x"},
        "lines": {"type": "literal", "value": LINES},
    }


def test_xml_results_carry_every_kind_of_term(live_server):
    ns = "{http://www.w3.org/2005/sparql-results#}"
    root = ET.fromstring(_ask(live_server, SELECT, "application/sparql-results+xml").content)
    assert [v.get("name") for v in root.iter(ns + "variable")] == VARIABLES
    [result] = list(root.iter(ns + "result"))
    cells = {binding.get("name"): binding[0] for binding in result}
    assert sorted(cells) == sorted(set(VARIABLES) - {"unbound"})
    assert (cells["int"].tag, cells["int"].text, cells["int"].get("datatype")) == (ns + "literal", "42", XSD_NS + "integer")
    assert (cells["date"].text, cells["date"].get("datatype")) == ("2011-12-16", XSD_NS + "date")
    assert (cells["lang"].text, cells["lang"].get("{http://www.w3.org/XML/1998/namespace}lang")) == ("Жаңаөзен", "kk")
    assert (cells["text"].tag, cells["text"].text, cells["text"].attrib) == (ns + "literal", TEXT, {})
    assert cells["bnode"].tag == ns + "bnode" and cells["bnode"].text
    assert (cells["iri"].tag, cells["iri"].text) == (ns + "uri", EX + "x")
    assert cells["lines"].text == LINES  # a carriage return an XML parser would turn into a line feed
    triple = cells["triple"]
    assert triple.tag == ns + "triple"
    assert [part.tag for part in triple] == [ns + "subject", ns + "predicate", ns + "object"]
    assert triple[2][0].text == "o" and triple[2][0].get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_csv_results_carry_every_kind_of_term(live_server):
    raw = _ask(live_server, SELECT, "text/csv").content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert len(rows) == 2 and rows[0] == VARIABLES
    cells = dict(zip(VARIABLES, rows[1], strict=True))
    assert cells["bnode"].startswith("_:") and len(cells["bnode"]) > 2
    assert cells["triple"]  # the CSV form of a triple term is not standardised; it must be there
    assert {k: v for k, v in cells.items() if k not in ("bnode", "triple")} == {
        "int": "42", "date": "2011-12-16", "lang": "Жаңаөзен", "unbound": "", "text": TEXT, "iri": EX + "x", "lines": LINES}


def test_tsv_results_carry_every_kind_of_term(live_server):
    raw = _ask(live_server, SELECT, "text/tab-separated-values").content
    assert len(raw.decode("utf-8").rstrip("\n").split("\n")) == 2  # the newline and the tab are escaped
    [row] = list(ox.parse_query_results(raw, format=ox.QueryResultsFormat.TSV))
    assert isinstance(row["bnode"], ox.BlankNode) and row["unbound"] is None
    assert row["int"] == ox.Literal("42", datatype=ox.NamedNode(XSD_NS + "integer"))
    assert row["date"] == ox.Literal("2011-12-16", datatype=ox.NamedNode(XSD_NS + "date"))
    assert row["lang"] == ox.Literal("Жаңаөзен", language="kk")
    assert row["text"] == ox.Literal(TEXT)
    assert row["iri"] == ox.NamedNode(EX + "x") and row["lines"] == ox.Literal(LINES)
    assert row["triple"] == ox.Triple(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("o", language="en"))


def _expected_graph() -> Graph:
    graph = Graph()
    s = URIRef(EX + "s")
    for value in (Literal("42", datatype=XSD.integer), Literal("2011-12-16", datatype=XSD.date),
                  Literal("Жаңаөзен", lang="kk"), Literal(TEXT), URIRef(EX + "x")):
        blank = BNode()
        graph.add((s, URIRef(EX + "p"), value))
        graph.add((s, URIRef(EX + "r"), blank))
        graph.add((blank, URIRef(EX + "q"), value))
    return graph


@pytest.mark.parametrize("media_type, rdflib_format", [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"), ("application/trig", "trig"), ("application/n-quads", "nquads"),
])
def test_every_rdf_format_carries_every_kind_of_term(live_server, media_type, rdflib_format):
    body = _ask(live_server, CONSTRUCT, media_type).content
    if rdflib_format in ("trig", "nquads"):
        dataset = Dataset()
        dataset.parse(data=body, format=rdflib_format)
        graph = Graph()
        for quad in dataset.quads((None, None, None, None)):
            graph.add(quad[:3])
    else:
        graph = Graph().parse(data=body, format=rdflib_format)
    expected = _expected_graph()
    assert len(graph) == len(expected) == 15
    assert isomorphic(graph, expected), body.decode()
