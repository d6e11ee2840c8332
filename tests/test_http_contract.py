"""The HTTP contract and what keeps it one: every route served, a request works on one release
snapshot, per-release caches stay bounded whatever the client sends. (Where Flask may be
imported is ``tests/test_architecture.py``'s.)"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from kazdata.http_contract import ROUTES

PACKAGE = ROOT / "kazdata"


def test_every_route_of_the_contract_is_served_by_flask(app):
    """Flask's rules are the contract's (a converter such as ``<path:filename>`` aside)."""
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule): rule.methods for rule in app.url_map.iter_rules()}
    for route in ROUTES.values():
        assert route.rule in rules, route
        assert set(route.methods) <= rules[route.rule], route
    # and the other way round: no rule added by hand beside the contract
    assert set(rules) <= {route.rule for route in ROUTES.values()}, set(rules) - {r.rule for r in ROUTES.values()}


def test_a_request_reads_the_served_release_once(app, client, monkeypatch):
    resources = app.extensions["kazdata"]
    calls = []
    original = resources.served

    def counted():
        calls.append(1)
        return original()

    monkeypatch.setattr(resources, "served", counted)
    for path, headers in [("/doc/place/zhanaozen", {}), ("/sparql", {"Accept": "text/turtle"}),
                          ("/dumps/", {}), ("/sitemap.xml", {}), ("/doc/place/no-such-place", {"Accept": "text/html"}),
                          ("/openapi.json", {}), ("/dataset", {"Accept": "text/html"})]:
        calls.clear()
        client.get(path, headers=headers)
        client.head(path, headers=headers)
        assert len(calls) == 2, path


def test_the_service_description_cache_is_bounded_whatever_the_host(app, client):
    for n in range(200):  # a fixed count and a literal ceiling: not sized from the bound under test
        response = client.get("/sparql", headers={"Accept": "text/turtle", "Host": f"h{n}.example"})
        assert b"<https://w3id.org/kazdata/sparql>" in response.data and b"h{n}.example" not in response.data
    caches = app.extensions["kazdata"].served().caches
    assert 0 < len(caches.service_descriptions) <= 6


def test_the_negotiation_cache_is_bounded_in_bytes(app, client):
    """400 distinct 300 kB Accept headers once kept 118 MB in each worker."""
    for n in range(40):
        accept = f"text/turtle;q=0.9, application/x-{n}-" + "a" * 300_000
        assert client.get("/doc/place/aktau", headers={"Accept": accept}).status_code == 200
    caches = app.extensions["kazdata"].served().caches
    kept = sum(len(part) for key in caches.choices._values for part in key if part)
    assert kept <= 2_000_000


@pytest.mark.parametrize(("accept", "media_type"), [
    ("application/json", "application/json"), ("application/sparql-results+json", "application/json"),
    ("text/html", "text/html"), ("text/plain", "text/plain"), ("*/*", "text/plain")])
def test_an_error_is_written_in_the_format_asked_for(client, accept, media_type):
    response = client.get("/doc/place/no-such-place", headers={"Accept": accept})
    assert response.status_code == 404 and response.mimetype == media_type
    if media_type == "application/json":
        assert response.get_json()["status"] == 404
    else:
        assert "no-such-place" in response.get_data(as_text=True)
