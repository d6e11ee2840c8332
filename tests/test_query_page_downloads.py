"""Every format the query page offers, downloaded from it in Debian's headless Chromium: a file
with the W3C's extension for the format, whose bytes are what the SPARQL protocol sends for the
format's media type, and whose content, read back by rdflib's parsers, is the answer pyoxigraph
gives on the Turtle dump. The byte-order mark, when asked, starts a CSV or TSV file and changes
no other.

The table of formats below is written from the W3C recommendations (media types, extensions),
not read from kazdata's registry; a format added to the page without a row here fails
``test_the_page_offers_exactly_the_formats_this_test_knows``.
"""

from __future__ import annotations

import csv
import io

import pytest
import requests
from rdflib import Dataset
from rdflib.query import Result

from tests.test_query_page import CITIES, CITY_GRAPH, rows_of

#: format parameter -> (media type, extension, what it holds, rdflib's parser name)
FORMATS = {
    "csv": ("text/csv", "csv", "table", "csv"),
    "tsv": ("text/tab-separated-values", "tsv", "table", "tsv"),
    "srj": ("application/sparql-results+json", "srj", "table", "json"),
    "srx": ("application/sparql-results+xml", "srx", "table", "xml"),
    "ttl": ("text/turtle", "ttl", "graph", "turtle"),
    "jsonld": ("application/ld+json", "jsonld", "graph", "json-ld"),
    "nt": ("application/n-triples", "nt", "graph", "nt"),
    "rdf": ("application/rdf+xml", "rdf", "graph", "xml"),
    "trig": ("application/trig", "trig", "graph", "trig"),
    "nq": ("application/n-quads", "nq", "graph", "nquads"),
}
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    yield context.new_page()
    context.close()


def download(page, query: str, fmt: str, bom: bool) -> tuple[str, bytes]:
    page.fill("#query", query)
    page.select_option("#format", fmt)
    page.set_checked("#bom", bom)
    with page.expect_download() as info:
        page.click("#download")
    saved = info.value
    with open(saved.path(), "rb") as file:
        return saved.suggested_filename, file.read()


def table_rows(raw: bytes, parser: str) -> list[tuple[str, ...]]:
    """The rows of a SPARQL results file, each term's lexical value (CSV's plain cells)."""
    if parser == "csv":
        return [tuple(row) for row in list(csv.reader(io.StringIO(raw.decode("utf-8"))))[1:]]
    result = Result.parse(io.BytesIO(raw), format=parser)
    return [tuple(str(term) for term in row) for row in result]


def test_the_page_offers_exactly_the_formats_this_test_knows(page, live_server):
    page.goto(live_server.url("/sparql"))
    offered = page.eval_on_selector_all("#format option", "options => options.map(o => o.value)")
    assert sorted(value for value in offered if value) == sorted(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_downloads_as_a_named_file_with_the_protocols_bytes(page, live_server, dump_store, fmt):
    media_type, extension, holds, parser = FORMATS[fmt]
    query = CITIES if holds == "table" else CITY_GRAPH
    page.goto(live_server.url("/sparql"))
    name, raw = download(page, query, fmt, bom=False)
    assert name == f"kazdata-results.{extension}"
    sent = requests.post(live_server.url("/sparql"), data={"query": query}, headers={"Accept": media_type})
    assert sent.status_code == 200 and sent.headers["Content-Type"].split(";")[0] == media_type
    assert raw == sent.content
    if holds == "table":
        assert sorted(table_rows(raw, parser)) == sorted(rows_of(dump_store, query))
    else:  # the same triples, each term in its N-Triples form as each library writes it
        dataset = Dataset(default_union=True)
        dataset.parse(data=raw, format=parser)
        triples = {tuple(term.n3() for term in triple) for triple in dataset.triples((None, None, None))}
        assert triples == {tuple(str(term) for term in triple) for triple in dump_store.query(query)}

    _, with_bom = download(page, query, fmt, bom=True)
    assert with_bom == (BOM + raw if fmt in ("csv", "tsv") else raw)
