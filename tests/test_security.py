"""Attacks that must fail; each test would fail if its defence were removed."""

from __future__ import annotations

import shutil

import pytest

from kazdata.builder import build_release, quiet
from kazdata.errors import Forbidden
from kazdata.settings import load_settings
from kazdata.sources import bundled
from kazdata.sparql.query_check import check_query

HOSTILE = """@base <https://w3id.org/kazdata/id/> .
@prefix schema: <https://schema.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<article/hostile-fixture> a schema:NewsArticle ;
    rdfs:label "<script>window.__xss=1</script> hostile"@en ;
    schema:name "<script>window.__xss=1</script> hostile"@en ;
    schema:headline "</script><img src=x onerror=alert(1)>"@en ;
    schema:datePublished "2011-12-20"^^xsd:date ;
    schema:publisher <organization/new-york-times> .
"""


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    from kazdata.web.app import create_app
    root = tmp_path_factory.mktemp("hostile")
    sources = root / "sources"
    sources.mkdir()
    for path in bundled.sources_dir().glob("*.ttl"):
        shutil.copy(path, sources / path.name)
    (sources / "hostile-fixture.ttl").write_text(HOSTILE, encoding="utf-8")
    release = build_release(root / "release", sources_dir=sources, progress=quiet)
    return create_app(load_settings({"release": release}, environ={})).test_client()


def test_labels_are_escaped_in_pages(hostile_client):
    html = hostile_client.get("/doc/article/hostile-fixture", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt; hostile" in html
    assert "<img" not in html  # nor can the embedded JSON-LD close its script element early
    index = hostile_client.get("/index/article", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>window.__xss" not in index


def test_pages_carry_security_headers(hostile_client):
    response = hostile_client.get("/doc/article/hostile-fixture", headers={"Accept": "text/html"})
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/doc/place/aktau%0d%0aSet-Cookie:%20x=1", "/id/place/aktau%0aX-Injected:%201"])
def test_no_header_injection_through_uris(hostile_client, path):
    response = hostile_client.get(path)
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers and "X-Injected" not in response.headers


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "INSERT DATA" }',
    "SELECT * WHERE { ?s <http://example.org/service> ?o } # SERVICE <http://x/>",
    "PREFIX load: <http://example.org/load#> SELECT * WHERE { ?s load:x ?o }",
])
def test_keywords_inside_strings_iris_and_comments_are_not_refused(query):
    assert check_query(query, [], {}).uses_from is False


def test_allow_listed_service_is_permitted_and_others_are_not():
    allowed = ["http://allowed.example/sparql"]
    check_query("SELECT * { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } }", allowed, {})
    check_query("PREFIX a: <http://allowed.example/> SELECT * { SERVICE a:sparql { ?s ?p ?o } }", allowed, {})
    with pytest.raises(Forbidden):
        check_query("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", allowed, {})
    with pytest.raises(Forbidden):
        check_query("select * { service <http://other.example/> { ?s ?p ?o } }", allowed, {})
