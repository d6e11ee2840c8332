"""The HTTP contract and what keeps it one: the export loads no Flask, only ``kazdata/web``
imports Flask or Werkzeug, a request works on one release snapshot, per-release caches stay
bounded whatever the client sends."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from kazdata.http_contract import ROUTES
from kazdata.web.release_caches import ReleaseCaches

PACKAGE = ROOT / "kazdata"


def test_the_static_export_imports_no_flask():
    code = "import sys, kazdata.export.static_site; print('flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_web_package_imports_flask_or_werkzeug():
    outside = [path.relative_to(ROOT).as_posix() for path in sorted(PACKAGE.rglob("*.py"))
               if PACKAGE / "web" not in path.parents and _imported(path) & {"flask", "werkzeug"}]
    assert outside == []


def test_every_route_of_the_contract_is_served_by_flask(app):
    """Flask's rules are the contract's (a converter such as ``<path:filename>`` aside)."""
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule): rule.methods for rule in app.url_map.iter_rules()}
    for route in ROUTES.values():
        assert route.rule in rules, route
        assert set(route.methods) <= rules[route.rule], route


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
    for n in range(3 * ReleaseCaches.MAX_SERVICE_DESCRIPTIONS):
        response = client.get("/sparql", headers={"Accept": "text/turtle", "Host": f"h{n}.example"})
        assert f"<http://h{n}.example/sparql>".encode() in response.data
    caches = app.extensions["kazdata"].served().caches
    assert 0 < len(caches.service_descriptions) <= ReleaseCaches.MAX_SERVICE_DESCRIPTIONS
