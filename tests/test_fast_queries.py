"""The fast path for ``/sparql`` (``kazdata.web.fast_queries``) answers as Flask's view does.

Two apps on the same release, one with the fast path and one without, are sent the same
requests: every way the protocol carries a query, every results and RDF format, each refusal
and error, the requests the fast path leaves to Flask. Their statuses, headers and bodies must
be equal, and the fast app's Flask view must not have run for a query it answered. The
expected answers come from the Flask view, which ``tests/test_sparql.py`` and the others check
against independent parsers; the live-server tests run through the fast path.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kazdata.http_contract import MAX_URL_LENGTH
from kazdata.settings import load_settings
from kazdata.web.app import create_app

JSON = "application/sparql-results+json"
SELECT = "SELECT ?e WHERE { ?e a kaz:Strike }"
ROWS = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
CONSTRUCT = "CONSTRUCT { ?e a kaz:Strike } WHERE { ?e a kaz:Strike }"
FORM = "application/x-www-form-urlencoded"

#: (what it checks, method, query string, headers, body, answered by the fast path: True, False
#: when Flask's view answers, None when Flask refuses it before any view)
REQUESTS = [
    ("ASK as JSON", "GET", "query=" + quote("ASK {}"), {"Accept": JSON}, None, True),
    ("SELECT, no Accept", "GET", "query=" + quote(SELECT), {}, None, True),
    *[(f"SELECT as {accept}", "GET", "query=" + quote(SELECT), {"Accept": accept}, None, True)
      for accept in (JSON, "application/sparql-results+xml", "text/csv", "text/tab-separated-values",
                     "application/json", "text/csv; charset=utf-8")],
    *[(f"CONSTRUCT as {accept}", "GET", "query=" + quote(CONSTRUCT), {"Accept": accept}, None, True)
      for accept in ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml",
                     "application/trig", "application/n-quads", "*/*")],
    ("format parameter", "GET", "query=" + quote(SELECT) + "&format=csv", {"Accept": "text/turtle"}, None, True),
    ("truncated at the limit", "GET", "query=" + quote(ROWS), {"Accept": "text/tab-separated-values"}, None, True),
    ("dataset by parameters", "GET", "query=" + quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
     + "&default-graph-uri=" + quote("https://w3id.org/kazdata/graph/ontology"), {"Accept": JSON}, None, True),
    ("relative IRI", "GET", "query=" + quote("SELECT (STR(<x>) AS ?s) {}"), {"Accept": JSON}, None, True),
    ("POST form", "POST", "", {"Accept": JSON, "Content-Type": FORM}, "query=" + quote(SELECT), True),
    ("POST query", "POST", "", {"Accept": JSON, "Content-Type": "application/sparql-query"}, SELECT, True),
    ("POST query, charset", "POST", "", {"Accept": JSON, "Content-Type": "application/sparql-query; charset=utf-8"},
     SELECT, True),
    ("malformed", "GET", "query=" + quote("SELECT WHERE {"), {"Accept": JSON}, None, True),
    ("SERVICE", "GET", "query=" + quote("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"),
     {"Accept": JSON}, None, True),
    ("two queries", "GET", "query=ASK%7B%7D&query=ASK%7B%7D", {"Accept": JSON}, None, True),
    ("empty query", "GET", "query=", {"Accept": "text/plain"}, None, True),
    ("update parameter", "GET", "update=" + quote("CLEAR ALL"), {}, None, True),
    ("bad timeout", "GET", "query=ASK%7B%7D&timeout=soon", {"Accept": JSON}, None, True),
    ("not UTF-8", "GET", "query=%FF", {}, None, True),
    ("rows nobody accepts", "GET", "query=" + quote(SELECT), {"Accept": "image/png"}, None, True),
    ("graph as CSV", "GET", "query=" + quote(CONSTRUCT), {"Accept": "text/csv"}, None, True),
    ("update by POST", "POST", "", {"Content-Type": "application/sparql-update"}, "CLEAR ALL", False),
    ("unknown body type", "POST", "", {"Content-Type": "text/plain"}, SELECT, False),
    ("no query: the service description", "GET", "", {"Accept": "text/turtle"}, None, False),
    ("a browser: the query page", "GET", "query=" + quote(SELECT), {"Accept": "text/html"}, None, False),
    ("HEAD", "HEAD", "query=" + quote(SELECT), {"Accept": JSON}, None, False),
    ("URL too long", "GET", "query=" + quote("ASK {} #" + "x" * MAX_URL_LENGTH), {}, None, None),
]


@pytest.fixture(scope="module")
def apps(release_dir):
    settings = load_settings({"release": release_dir, "result_limit": 5}, environ={})
    fast, flask_only = create_app(settings), create_app(settings, fast_queries=False)
    views = []
    view = fast.view_functions["sparql.endpoint"]

    def counted(*args, **kwargs):
        views.append(1)
        return view(*args, **kwargs)

    fast.view_functions["sparql.endpoint"] = counted
    return fast.test_client(), flask_only.test_client(), views


def _response(client, method, query_string, headers, body):
    got = client.open("/sparql?" + query_string if query_string else "/sparql", method=method, headers=headers,
                      data=body)
    return got.status_code, sorted(got.headers.items()), got.data


@pytest.mark.parametrize("what, method, query_string, headers, body, fast",
                         REQUESTS, ids=[r[0] for r in REQUESTS])
def test_the_fast_path_answers_as_flask_does(apps, what, method, query_string, headers, body, fast):
    fast_client, flask_client, views = apps
    views.clear()
    answer = _response(fast_client, method, query_string, headers, body)
    assert answer == _response(flask_client, method, query_string, headers, body)
    if answer[0] == 200 and method != "HEAD":
        assert answer[2]  # a body: equal answers that are both empty would prove little
    if fast is not None:  # None: Flask refuses it before any view (the 414)
        assert bool(views) != fast, "Flask's view ran" if fast else "the fast path answered"
    else:
        assert answer[0] == 414


def test_the_query_check_is_remembered_per_text_and_bounded(monkeypatch):
    """The check (an rdflib parse for a query holding a watched word) runs once per text; a
    refusal is decided again each time; the verdicts kept are bounded."""
    from kazdata.errors import Forbidden
    from kazdata.sparql import query_check
    parses = []
    real = query_check.check_query

    def counted(text, *args):
        parses.append(text)
        return real(text, *args)

    monkeypatch.setattr(query_check, "check_query", counted)
    monkeypatch.setattr(query_check, "CACHED_QUERIES", 3)
    rules = query_check.QueryRules({}, ())
    named = "SELECT * FROM <https://example.org/g> WHERE { ?s ?p ?o }"
    assert rules.check(named).uses_from and rules.check(named).uses_from
    assert parses == [named]
    refused = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    for _ in range(2):
        with pytest.raises(Forbidden):
            rules.check(refused)
    assert parses == [named, refused, refused]
    for n in range(5):
        rules.check(f"ASK FROM <https://example.org/{n}> {{}}")
    assert len(rules.passed) <= 3
    rules.check("ASK {} #" + "x" * query_check.CACHED_QUERY_CHARACTERS)
    assert all(len(text) <= query_check.CACHED_QUERY_CHARACTERS for text in rules.passed)


def test_the_protocols_parameters_are_remembered_per_query_string_and_bounded(monkeypatch):
    """Percent-decoding an example query costs urllib 20-55 µs: a repeated query string is read
    once; a string past the bound is read each time; errors are raised each time; at most
    ``PAIRS_KEPT`` strings are kept."""
    from kazdata.errors import BadRequest
    from kazdata.web import sparql
    decoded = []
    real = sparql.parse_qsl
    monkeypatch.setattr(sparql, "parse_qsl", lambda text, **kw: decoded.append(text) or real(text, **kw))
    monkeypatch.setattr(sparql, "_PAIRS", {})
    monkeypatch.setattr(sparql, "PAIRS_KEPT", 2)
    query = "query=" + quote("SELECT * WHERE { ?s ?p 'caf\u00e9' }") + "&timeout=2"
    for _ in range(3):
        assert sparql._parse_pairs(query.encode(), "query string") == (
            ("query", "SELECT * WHERE { ?s ?p 'caf\u00e9' }"), ("timeout", "2"))
    assert decoded == [query]
    longest = "query=" + "x" * (sparql.PAIRS_LONGEST - len("query="))
    for text in (longest, longest, longest + "x", longest + "x"):
        assert sparql._parse_pairs(text.encode(), "query string") == (("query", text[len("query="):]),)
    assert decoded == [query, longest, longest + "x", longest + "x"]
    for _ in range(2):
        with pytest.raises(BadRequest, match="not valid UTF-8"):
            sparql._parse_pairs(b"query=%FF", "query string")
    assert len(sparql._PAIRS) <= 2


def test_a_remembered_reading_of_a_request_is_that_clients_under_that_accept_header(release_dir, monkeypatch):
    """The fast path reads a repeated request once (``_READINGS``), remembered by everything the
    reading depends on: the same query from another address carries that address to the
    per-client cap, and under another Accept header is answered in that header's format."""
    from kazdata.sparql.policy import Engine
    seen = []
    real = Engine.query

    def recorded(self, request, timeout=None):
        seen.append((request.client, request.results_format))
        return real(self, request, timeout)

    monkeypatch.setattr(Engine, "query", recorded)
    client = create_app(load_settings({"release": release_dir}, environ={})).test_client()
    asked = [("192.0.2.1", JSON), ("192.0.2.2", JSON), ("192.0.2.1", "text/csv"), ("192.0.2.1", JSON)]
    for address, accept in asked:
        got = client.get("/sparql?query=" + quote(SELECT), headers={"Accept": accept},
                         environ_base={"REMOTE_ADDR": address})
        assert got.status_code == 200 and got.mimetype == accept
    assert seen == [("192.0.2.1", "srj"), ("192.0.2.2", "srj"), ("192.0.2.1", "csv"), ("192.0.2.1", "srj")]
