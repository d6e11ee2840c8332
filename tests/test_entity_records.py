"""An entity's RDF document says everything its HTML page says (issue 12).

The Turtle of an event used to carry its claims only as label + ``schema:about``: the value 13,
the qualifier, the wording, the outlet and the quotation's words were on the page and nowhere in
the machine-readable document. Two checks, each against an independent source:

- the dump, queried here with SPARQL: every claim and quotation that points to an entity (by any
  property but PROV's, which point every record to its outlet and article) is in the entity's
  document with all its triples, and every resource it names with its label;
- the page itself, parsed: every quotation, statement, wording and value it shows is a literal of
  the document, every entity it links to (outside the map and the navigation) an IRI of it.

The pages are asked of the real server process (``live_server``), in Turtle and HTML.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Literal, URIRef

BASE = "https://w3id.org/kazdata/"
KAZ = BASE + "ontology#"
ARTICLE_ADDRESS = "https://www.pri.org/stories/2011-12-19/kazakhstan-oil-workers-protest-police-crackdown"


def _entities(dump_store: ox.Store) -> list[str]:
    rows = dump_store.query(f"""
        SELECT DISTINCT ?entity WHERE {{ ?entity a ?type . FILTER STRSTARTS(STR(?entity), "{BASE}id/") }}
        ORDER BY ?entity""", use_default_graph_as_union=True)
    return [row["entity"].value for row in rows]


def _records_pointing_to(dump_store: ox.Store) -> dict[str, set]:
    """entity IRI -> the (record, predicate, object) triples of every claim or quotation that points
    to it by a property outside PROV, the labels of what those triples name, and the reference of
    each record: the publisher and date of the document it is derived from, the publisher's label."""
    rows = dump_store.query(f"""
        SELECT DISTINCT ?entity ?s ?p ?o WHERE {{
            VALUES ?recordType {{ <{KAZ}FigureClaim> <{KAZ}StatementClaim> <https://schema.org/Quotation> }}
            ?record a ?recordType ; ?link ?entity .
            FILTER (!STRSTARTS(STR(?link), "http://www.w3.org/ns/prov#") && isIRI(?entity)
                    && STRSTARTS(STR(?entity), "{BASE}id/"))
            {{ ?record ?p ?o . BIND (?record AS ?s) }}
            UNION
            {{ ?record ?anything ?s . FILTER isIRI(?s)
               VALUES ?p {{ <http://www.w3.org/2000/01/rdf-schema#label> }} ?s ?p ?o }}
            UNION
            {{ ?record <http://www.w3.org/ns/prov#wasDerivedFrom> ?s .
               VALUES ?p {{ <https://schema.org/publisher> <https://schema.org/datePublished> }} ?s ?p ?o }}
            UNION
            {{ ?record <http://www.w3.org/ns/prov#wasDerivedFrom>/<https://schema.org/publisher> ?s .
               VALUES ?p {{ <http://www.w3.org/2000/01/rdf-schema#label> }} ?s ?p ?o }}
        }}""", use_default_graph_as_union=True)
    found: dict[str, set] = {}
    for row in rows:
        found.setdefault(row["entity"].value, set()).add((row["s"], row["p"], row["o"]))
    return found


def _rdflib(term):
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return URIRef(term.value)


def _path(iri: str) -> str:
    return iri[len(BASE + "id/"):]


@pytest.fixture(scope="module")
def documents(live_server, dump_store) -> dict[str, Graph]:
    graphs = {}
    for iri in _entities(dump_store):
        response = requests.get(live_server.url(f"/doc/{_path(iri)}"), headers={"Accept": "text/turtle"}, timeout=30)
        assert response.status_code == 200, iri
        graphs[iri] = Graph().parse(data=response.text, format="turtle")
    return graphs


def test_every_record_about_an_entity_is_in_its_document_whole(documents, dump_store):
    records = _records_pointing_to(dump_store)
    assert len(records) >= 20, "the bundled data has claims and quotations about some 20 entities"
    # the figures of the issue: the shooting's document gives the value, qualifier, wording, outlet
    # and Kasymov's words, not only the claims' labels
    shooting = documents[BASE + "id/event/zhanaozen-shooting-2011-12-16"]
    for literal in (Literal(13), Literal("at least 13", lang="en"),
                    Literal("Nobody specifically gave the order to open fire in that situation", lang="en")):
        assert (None, None, literal) in shooting, literal
    assert (None, URIRef("http://www.w3.org/ns/prov#wasAttributedTo"),
            URIRef(BASE + "id/organization/new-york-times")) in shooting
    # the reference shown under each figure (issue 18): the article's publisher and date
    article = URIRef(BASE + "id/article/globalpost-2011-12-19")
    assert (article, URIRef("https://schema.org/publisher"), URIRef(BASE + "id/organization/globalpost")) in shooting
    assert (article, URIRef("https://schema.org/datePublished"), None) in shooting
    missing = []
    for entity, triples in sorted(records.items()):
        graph = documents[entity]
        missing += [(entity, triple) for triple in triples if tuple(map(_rdflib, triple)) not in graph]
    assert missing == [], f"{len(missing)} triples missing, e.g. {missing[:5]}"


class _PageText(HTMLParser):
    """What an entity page shows in its body: the words of its quotations, statements, wordings and
    values, the entities it links to, and the external addresses it cites. The map (other places)
    and the list of formats are not about the entity and are left out."""

    SKIPPED_SECTIONS = {"map", "formats"}
    SHOWN = {("blockquote", None), ("q", None), ("strong", None), ("span", "value")}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.links: set[str] = set()
        self.addresses: set[str] = set()
        #: the machine-readable dates of ``<time datetime>`` (a reference's publication date)
        self.dates: set[str] = set()
        self._stack: list[tuple[str, str | None]] = []
        self._in_article = False
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "article":
            self._in_article = True
        if tag == "section" and attributes.get("class") in self.SKIPPED_SECTIONS:
            self._skipping += 1
        self._stack.append((tag, attributes.get("class")))
        if not self._in_article or self._skipping:
            return
        href = attributes.get("href") or ""
        if tag == "a" and href.startswith("/doc/"):
            self.links.add(BASE + "id/" + href[len("/doc/"):])
        elif tag == "a" and attributes.get("class") == "address":
            self.addresses.add(href)
        elif tag == "time":
            self.dates.add(attributes.get("datetime") or "")

    def handle_endtag(self, tag):
        while self._stack:
            opened, cls = self._stack.pop()
            if opened == "section" and cls in self.SKIPPED_SECTIONS:
                self._skipping -= 1
            if opened == tag:
                break
        if tag == "article":
            self._in_article = False

    def handle_data(self, data):
        if self._in_article and not self._skipping and self._stack and self._stack[-1] in self.SHOWN:
            self.texts.append(data)


def test_what_each_page_shows_is_in_its_document(live_server, documents):
    shown_addresses, shown_dates = set(), set()
    for entity, graph in sorted(documents.items()):
        page = requests.get(live_server.url(f"/doc/{_path(entity)}"), headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200, entity
        parser = _PageText()
        parser.feed(page.text)
        literals = {str(o) for o in graph.objects() if isinstance(o, Literal)}
        iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
        assert [t for t in parser.texts if t not in literals] == [], entity
        assert sorted(parser.links - iris) == [], entity
        assert sorted(parser.addresses - iris) == [], entity
        assert sorted(parser.dates - literals) == [], entity
        shown_dates |= parser.dates
        shown_addresses |= parser.addresses
    assert shown_addresses == {ARTICLE_ADDRESS}, "pages citing the article show its address"
    assert "2011-12-19" in shown_dates, "pages citing the article show its date"


@pytest.mark.parametrize("path", [
    "event/zhanaozen-shooting-2011-12-16", "event/aktau-protest-2011-12", "event/kasymov-statement-2011-12",
    "person/kalmukhambet-kasymov", "organization/reuters",
])
def test_pages_that_cite_the_article_show_its_address(live_server, path):
    page = requests.get(live_server.url(f"/doc/{path}"), headers={"Accept": "text/html"}, timeout=30).text
    assert f'<a class="address" href="{ARTICLE_ADDRESS}" rel="external">' in page, path


def test_the_slogan_is_shown_as_displayed_by_the_aktau_oil_workers(live_server):
    for path in ("event/aktau-protest-2011-12", "group/aktau-oil-workers"):
        page = requests.get(live_server.url(f"/doc/{path}"), headers={"Accept": "text/html"}, timeout=30).text
        assert "<blockquote>Don’t Shoot the People</blockquote>" in page, path
        assert 'displayed by <a href="/doc/group/aktau-oil-workers">oil workers in Aktau</a> on signs' in page, path


@pytest.mark.parametrize(("path", "said"), [
    ("event/aktau-protest-2011-12", "18 or 19 December 2011"),
    ("event/azubalis-osce-statement-2011-12", "16–19 December 2011"),
    ("event/kasymov-statement-2011-12", "16–19 December 2011"),
    ("event/zhanaozen-arson-2011-12-16", "16–19 December 2011"),
    ("event/mangystau-oil-strike-2011", "May 2011"),
    ("event/zhanaozen-shooting-2011-12-16", "16 December 2011"),
    ("event/mangystau-clashes-2011-12-16-17", "16–17 December 2011"),
])
def test_an_event_page_says_its_day_or_range_of_days(live_server, path, said):
    page = requests.get(live_server.url(f"/doc/{path}"), headers={"Accept": "text/html"}, timeout=30).text
    assert f'<p class="when">When: <span class="date">{said}</span>' in page, path
