"""Dereferencing against the real server process: 303s, negotiation, headers, every entity."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from kazdata.formats import DOCUMENT_FORMATS, GRAPH_FORMATS, Format
from kazdata.release.opened import Release
from kazdata.web.negotiation import choose_format, parse_accept

RDFLIB_FORMAT = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml"}
BASE = "https://w3id.org/kazdata/"


@pytest.fixture(scope="module")
def entity_paths(release_dir) -> list[str]:
    return sorted(Release(release_dir).entities)


def _vary(response: requests.Response) -> set[str]:
    """The header names in Vary, lowercased: ``"Accept" in response.headers["Vary"]`` also holds
    for ``Vary: Accept-Encoding`` alone (a document without ``Accept`` in Vary passed so)."""
    return {name.strip().lower() for name in response.headers["Vary"].split(",")}


def _parse(response: requests.Response, extension: str) -> Graph:
    return Graph().parse(data=response.content, format=RDFLIB_FORMAT[extension])


def test_every_entity_redirects_and_negotiates_every_format(live_server, entity_paths):
    assert len(entity_paths) > 50
    session = requests.Session()
    for path in entity_paths:
        for accept in ("text/turtle", "text/html", "*/*", None):
            headers = {"Accept": accept} if accept else {}
            response = session.get(live_server.url(f"/id/{path}"), headers=headers, allow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["Location"].endswith(f"/doc/{path}")
            assert "accept" in _vary(response)
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert f"/doc/{path}" in response.text
        graphs = {}
        for extension, fmt in DOCUMENT_FORMATS.items():
            response = session.get(live_server.url(f"/id/{path}"), headers={"Accept": fmt.media_type})
            assert response.status_code == 200, (path, extension)
            assert response.history and response.history[0].status_code == 303
            assert response.headers["Content-Type"] == fmt.content_type
            assert response.headers["Content-Location"] == f"/doc/{path}.{extension}"
            # negotiated on the type, the encoding and, for a page, the language (decision 011)
            assert _vary(response) == {"accept", "accept-encoding", *(["accept-language"] if extension == "html" else [])}
            links = response.headers["Link"]
            assert f'<{BASE}doc/{path}>; rel="canonical"' in links
            assert 'rel="license"' in links and 'rel="describedby"' in links
            for other_extension, other in DOCUMENT_FORMATS.items():
                if other_extension != extension:
                    assert f'</doc/{path}.{other_extension}>; rel="alternate"; type="{other.media_type}"' in links
            assert response.headers["ETag"] and response.headers["Last-Modified"]
            direct = session.get(live_server.url(f"/doc/{path}.{extension}"))
            assert direct.status_code == 200 and direct.content == response.content
            if extension in GRAPH_FORMATS:
                graphs[extension] = _parse(response, extension)
        subject = URIRef(f"{BASE}id/{path}")
        assert (subject, None, None) in graphs["ttl"]
        for extension, graph in graphs.items():
            assert isomorphic(graph, graphs["ttl"]), (path, extension)


def test_document_holds_cbd_labels_of_links_and_incoming_links(client):
    graph = Graph().parse(data=client.get("/doc/place/zhanaozen.ttl").data, format="turtle")
    zhanaozen = URIRef(f"{BASE}id/place/zhanaozen")
    mangystau = URIRef(f"{BASE}id/place/mangystau-region")
    schema = "https://schema.org/"
    assert (zhanaozen, URIRef(schema + "containedInPlace"), mangystau) in graph
    assert (mangystau, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), None) in graph
    document = URIRef(f"{BASE}doc/place/zhanaozen")
    incoming = [(s, p) for s, p in graph.subject_predicates(zhanaozen) if s != document]
    assert any(str(s).endswith("zhanaozen-state-of-emergency-2011-12-17") for s, _ in incoming)
    count = graph.value(document, URIRef(f"{BASE}ontology#incomingLinkCount"))
    assert int(count) == len(incoming)


@pytest.mark.parametrize("accept, expected", [
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("application/rdf+xml;q=0.9, text/html;q=0.8", "application/rdf+xml"),
    ("text/*", "text/turtle"),
    ("*/*", "text/turtle"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("application/n-triples", "application/n-triples"),
])
def test_negotiation_honours_q_values_and_wildcards(live_server, accept, expected):
    response = requests.get(live_server.url("/doc/place/aktau"), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected


@pytest.mark.parametrize("path, accept, expected", [
    # the client refuses Turtle outright: application/x-turtle (an alias) matched */* and brought it back
    ("/doc/place/aktau", "text/turtle;q=0, */*", "application/ld+json"),
    ("/doc/place/aktau", "text/*;q=0, */*", "application/ld+json"),
    ("/doc/place/aktau", "application/ld+json;q=0, application/json;q=0, text/turtle;q=0, */*",
     "application/n-triples"),
    # application/* is not text/turtle (it was sent, through application/x-turtle)
    ("/doc/place/aktau", "application/*", "application/ld+json"),
    ("/graph/ontology", "application/*", "application/ld+json"),
    # text/* is not application/sparql-results+xml (it was sent, through text/xml)
    ("/sparql?query=ASK%7B%7D", "text/*", "text/csv"),
])
def test_a_wildcard_reaches_a_format_by_the_type_it_is_sent_as(live_server, path, accept, expected):
    """RFC 9110 §12.5.1: the type sent is one the client accepts, rated by the most specific
    element that matches it. An alias (application/x-turtle, text/plain, application/json,
    text/xml) is taken when the client names it, never through a wildcard the sent type does
    not match, nor past the client's q=0 for the sent type."""
    response = requests.get(live_server.url(path), headers={"Accept": accept})
    assert response.status_code == 200, response.text
    sent = response.headers["Content-Type"].split(";")[0]
    assert sent == expected, (accept, sent)


def test_unacceptable_type_is_406_listing_the_offer(live_server):
    response = requests.get(live_server.url("/doc/place/aktau"), headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text and "application/ld+json" in response.text
    assert "accept" in _vary(response)


def test_a_remembered_choice_never_answers_for_other_formats_at_the_same_addresses():
    """``choose_format`` remembers its choices by the formats' ids: an id is reused once its
    object is freed, so an entry whose formats could be freed would answer for new formats made
    at the same addresses. Fresh formats are made and dropped in turn, the wanted type offered
    first, then second: each time the offered format of that type is the one chosen."""
    accept = parse_accept("text/x-wanted")
    for turn in range(300):
        wanted_first = turn % 2 == 0
        offered = (Format("a", "A", ("text/x-wanted" if wanted_first else "text/x-other",), "a"),
                   Format("b", "B", ("text/x-other" if wanted_first else "text/x-wanted",), "b"))
        assert choose_format(accept, offered) is offered[0 if wanted_first else 1], turn
        del offered


def test_unknown_uri_is_404_with_close_matches_for_people(live_server):
    response = requests.get(live_server.url("/doc/place/zhanaozenn"), headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert 'href="/doc/place/zhanaozen"' in response.text
    plain = requests.get(live_server.url("/id/place/nowhere"), headers={"Accept": "text/turtle"})
    assert plain.status_code == 404 and plain.headers["Content-Type"].startswith("text/plain")
    assert "place/nowhere" in plain.text and "Traceback" not in plain.text
    assert plain.headers["Access-Control-Allow-Origin"] == "*" and "accept" in _vary(plain)


def test_conditional_requests_gzip_and_head(live_server):
    url = live_server.url("/doc/event/zhanaozen-shooting-2011-12-16.ttl")
    first = requests.get(url, headers={"Accept-Encoding": "identity"})
    assert first.headers["Cache-Control"].startswith("public") and "Content-Encoding" not in first.headers
    identity = {"Accept-Encoding": "identity"}
    again = requests.get(url, headers={**identity, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    since = requests.get(url, headers={**identity, "If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.content == first.content
    assert zipped.headers["ETag"] != first.headers["ETag"]  # another representation, another tag
    assert requests.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    head = requests.head(url, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == first.headers["ETag"]


def test_html_language_follows_accept_language(live_server):
    kazakh = requests.get(live_server.url("/doc/place/zhanaozen"),
                          headers={"Accept": "text/html", "Accept-Language": "kk, en;q=0.5"})
    # the page's own words are English whichever names it prefers: the Kazakh name is marked inline
    assert kazakh.headers["Content-Language"] == "en" and '<html lang="en">' in kazakh.text
    assert '<h1><span lang="kk">Жаңаөзен</span></h1>' in kazakh.text
    english = requests.get(live_server.url("/doc/place/zhanaozen"), headers={"Accept": "text/html"})
    assert "<h1>Zhanaozen</h1>" in english.text and "accept-language" in _vary(english)


def test_entity_page_embeds_schema_org_json_ld_matching_the_document(client):
    html = client.get("/doc/event/zhanaozen-shooting-2011-12-16.html").get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    embedded = Graph().parse(data=block, format="json-ld")
    turtle = Graph().parse(data=client.get("/doc/event/zhanaozen-shooting-2011-12-16.ttl").data, format="turtle")
    assert isomorphic(embedded, turtle)
    assert "at least 13" in html and "The New York Times" in html


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "link" and ("rel", "canonical") in attrs:
            return  # the one absolute URL a page names on purpose: the canonical document (decision 011)
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_no_internal_link_from_the_home_page_is_broken(live_server):
    session = requests.Session()
    seen, queue, broken = set(), ["/"], []
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = session.get(live_server.url(path), headers={"Accept": "text/html"})
        if response.status_code != 200:
            broken.append((path, response.status_code))
            continue
        if not response.headers["Content-Type"].startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(response.text)
        for link in parser.links:
            target = urljoin(path, link)
            parsed = urlparse(target)
            if target.startswith((BASE, live_server.root)):  # pages promise host-relative links
                broken.append((path, target))
            elif not (parsed.netloc or parsed.scheme):
                queue.append(parsed.path)
    assert broken == []
    assert len(seen) > 100


def test_ontology_page_documents_every_term(live_server, release_dir):
    ontology = Graph().parse(release_dir / "ontology.ttl", format="turtle")
    terms = {str(s) for s in ontology.subjects() if str(s).startswith(BASE + "ontology#")}
    assert len(terms) > 40  # the loop below must not run over nothing (the release's ontology, read wrongly)
    page = requests.get(live_server.url("/ontology"), headers={"Accept": "text/html"}).text
    for term in terms:
        assert f'id="{term.rsplit("#", 1)[1]}"' in page, term
    turtle = requests.get(live_server.url("/ontology"), headers={"Accept": "text/turtle"})
    assert isomorphic(Graph().parse(data=turtle.content, format="turtle"), ontology)
    jsonld = requests.get(live_server.url("/ontology"), headers={"Accept": "application/ld+json"})
    assert isomorphic(Graph().parse(data=jsonld.content, format="json-ld"), ontology)


# every other URI, body and all: tests/test_published_bodies.py


def test_dumps_support_ranges_and_checksums(live_server, release_dir):
    import hashlib
    url = live_server.url("/dumps/kazdata.ttl")
    full = requests.get(url, headers={"Accept-Encoding": "identity"})
    assert full.headers["Content-Type"] == "text/turtle; charset=utf-8"
    assert int(full.headers["Content-Length"]) == len(full.content) == (release_dir / "dumps/kazdata.ttl").stat().st_size
    part = requests.get(url, headers={"Range": "bytes=10-19", "Accept-Encoding": "identity"})
    assert part.status_code == 206 and part.content == full.content[10:20]
    sums = requests.get(live_server.url("/dumps/SHA256SUMS")).text
    assert f"{hashlib.sha256(full.content).hexdigest()}  kazdata.ttl" in sums
    gz = requests.get(live_server.url("/dumps/kazdata.nt.gz"), stream=True)
    assert gz.headers["Content-Type"] == "application/gzip"


# path traversal, sent byte for byte (requests would normalise it away): tests/test_traversal.py


def test_the_fast_path_answers_exactly_like_the_flask_route(client, entity_paths):
    """GET /doc/ is answered in front of Flask; with a query string it goes through Flask."""
    for path in entity_paths:
        for accept in ("text/turtle", "application/ld+json", "text/html", "*/*", None):
            for encoding in ("gzip", "identity"):
                headers = {"Accept-Encoding": encoding, **({"Accept": accept} if accept else {})}
                fast = client.get(f"/doc/{path}", headers=headers)
                routed = client.get(f"/doc/{path}?through=flask", headers=headers)
                assert fast.status_code == routed.status_code == 200
                assert fast.data == routed.data, (path, accept, encoding)
                fast_headers = sorted((k, v) for k, v in fast.headers.items() if k != "Date")
                routed_headers = sorted((k, v) for k, v in routed.headers.items() if k != "Date")
                assert fast_headers == routed_headers, (path, accept, encoding)


@pytest.mark.parametrize("path", ["/dataset", "/ontology", "/shapes"])
def test_graph_resources_link_to_alternates_that_exist(client, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.headers["Content-Location"] == f"{path}.ttl"
    targets = re.findall(r'<(/[^>]+)>; rel="alternate"', response.headers["Link"])
    assert len(targets) == 4  # the other RDF formats and the HTML page
    for target in [response.headers["Content-Location"], *targets]:
        assert client.get(target).status_code == 200, target


def test_documents_rendered_on_demand_support_ranges_and_304(live_server):
    """Entity documents are not files; Range, 304 and HEAD still work on them."""
    url = live_server.url("/doc/place/zhanaozen.jsonld")
    identity = {"Accept-Encoding": "identity"}
    full = requests.get(url, headers=identity)
    part = requests.get(url, headers={**identity, "Range": "bytes=5-24"})
    assert part.status_code == 206 and part.content == full.content[5:25]
    assert part.headers["Content-Range"] == f"bytes 5-24/{len(full.content)}"
    assert requests.get(url, headers={**identity, "If-None-Match": full.headers["ETag"]}).status_code == 304
    html = live_server.url("/doc/place/zhanaozen.kk.html")
    assert requests.get(html).status_code == 404  # the language is negotiated, not a suffix
