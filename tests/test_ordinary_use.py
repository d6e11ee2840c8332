"""What clients do every day, against the real server process (issue 14, "HTTP" and "SPARQL 1.1
Protocol"): Accept headers with parameters, CORS preflights, every published IRI dereferencing,
one canonical answer, and the protocol's dataset, base-IRI and long-URL rules.

Expected values come from the standards and from the release's files, never from the code under
test: media types are written out, IRIs are collected from the dumps and the VoID file with rdflib.
"""

from __future__ import annotations

import pytest
import requests

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
