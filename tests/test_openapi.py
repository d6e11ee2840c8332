"""The OpenAPI description at /openapi.json: valid, complete, and true of the real server.

Schemathesis loads the description from the live server (as deployed), generates
requests for every operation from it, schema-conforming and not, and checks each response:
no 5xx, only documented status codes, documented media types, required headers, error bodies.
The run is bounded (a few examples per operation and mode) so that it stays well under a minute.
"""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kazdata.formats import GRAPH_FORMATS
from kazdata.release.opened import Release
from kazdata.web.openapi import build_spec

# The query itself as the POST body (SPARQL 1.1 Protocol 2.1.3): text, sent as UTF-8.
schemathesis.serializer.alias("application/sparql-query", "text/plain")


def no_server_error_but_a_query_timeout(ctx, response, case):
    """Schemathesis's server-error check, except for the documented 503 of a query out of time."""
    if response.status_code == 503 and case.operation.path == "/sparql" and b"time limit" in response.content:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_error_but_a_query_timeout, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_MODE = 12
BOUNDED = settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))
#: Flask's ``<converter:name>`` route variables as OpenAPI's ``{name}``.
FLASK_TO_OPENAPI = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@pytest.fixture(scope="module")
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


@pytest.fixture(scope="module")
def client(app):  # module-scoped: these tests do not change the app
    return app.test_client()


@pytest.fixture(scope="module")
def api(live_server):
    return schemathesis.openapi.from_url(live_server.url("/openapi.json"), timeout=10)


def test_description_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.validate()  # the OpenAPI 3 meta-schema, as Schemathesis checks it
    assert len(list(loaded.get_all_operations())) >= 20
    from openapi_spec_validator import validate  # in the test extras: a missing install fails here

    validate(spec)


def test_every_route_is_described_and_nothing_else(app, spec):
    routes = {FLASK_TO_OPENAPI.sub(r"{\1}", rule.rule): rule.methods - {"HEAD", "OPTIONS"}
              for rule in app.url_map.iter_rules()}
    documented = {path: {m.upper() for m in item} - {"HEAD", "OPTIONS"} for path, item in spec["paths"].items()}
    assert documented == routes


def test_every_operation_documents_its_statuses_and_media_types(spec):
    paths = spec["paths"]
    doc = paths["/doc/{kind}/{slug}"]["get"]["responses"]
    assert {"200", "304", "404", "406"} <= set(doc)
    assert set(doc["200"]["content"]) == {*(f.media_type for f in GRAPH_FORMATS.values()), "text/html"}
    assert "303" in paths["/id/{kind}/{slug}"]["get"]["responses"]
    sparql = paths["/sparql"]
    assert {"200", "400", "403", "406", "429", "503"} <= set(sparql["get"]["responses"])
    assert {"200", "400", "403", "406", "408", "413", "503"} <= set(sparql["post"]["responses"])
    assert set(sparql["post"]["requestBody"]["content"]) == {"application/x-www-form-urlencoded",
                                                              "application/sparql-query"}
    assert {p["name"] for p in sparql["get"]["parameters"]} == {"query", "default-graph-uri", "named-graph-uri",
                                                                "format", "download", "bom", "timeout"}
    errors = spec["components"]["responses"]
    assert set(errors) == {"E400", "E403", "E404", "E405", "E406", "E408", "E413", "E414", "E416", "E429", "E503"}
    for response in errors.values():
        assert set(response["content"]) == {"text/plain", "text/html", "application/json"}
    for path, item in paths.items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            assert operation.get("operationId"), (method, path)


def test_description_follows_the_release(release_dir, settings, spec):
    release = Release(release_dir)
    assert build_spec(release, settings) == spec
    kinds = spec["paths"]["/index/{kind}"]["get"]["parameters"][0]["schema"]["enum"]
    assert kinds == sorted({e["kind"] for e in release.entities.values()})
    dumps = spec["paths"]["/dumps/{name}"]["get"]["parameters"][0]["schema"]["enum"]
    assert "kazdata.ttl" in dumps and "kazdata.nq.gz" in dumps


def test_description_is_cacheable(client):
    first = client.get("/openapi.json")
    assert first.headers["ETag"] and first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def _session() -> requests.Session:
    """A session whose own default headers (Accept: */*) do not override the ones a case sends."""
    session = requests.Session()
    session.headers.clear()
    return session


def _short(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


#: Headers that frame the message rather than ask the application anything. The HTTP server
#: (granian's hyper, gunicorn) reads them before any Python code runs and answers a malformed
#: one itself (an empty `Content-Length` gets hyper's bodiless 400, as RFC 9112 6.3 asks), so a
#: generated value says nothing about kazdata's description; a case's other headers are kept.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "host", "connection"}


def _run_operation(operation, base_url: str, session: requests.Session, mode: GenerationMode) -> list[str]:
    failures: list[str] = []

    @BOUNDED
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case):
        for name in [name for name in case.headers or {} if name.lower() in FRAMING_HEADERS]:
            del case.headers[name]
        response = case.call(base_url=base_url, session=session, timeout=15)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as error:  # collect: one run reports every failing operation
            failures.append(f"{operation.label} ({mode.value}): {_short(str(error))}\n"
                            f"  reproduce: {_short(case.as_curl_command())}")

    try:
        exercise()
    except Unsatisfiable:  # no parameter or body to get wrong: nothing negative to send
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def test_live_server_conforms_to_its_description(api, live_server):
    """Generated requests for every operation, valid and invalid: every response is as described."""
    session = _session()
    failures, operations = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        described = api.raw_schema["paths"][operation.path][operation.method.lower()]
        # Only path and query parameters and bodies can be made invalid (header parameters are any text).
        negatable = "requestBody" in described or any(
            p.get("in") in ("path", "query") for p in described.get("parameters", []))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negatable else (GenerationMode.POSITIVE,):
            failures += _run_operation(operation, live_server.root, session, mode)
    assert operations >= 20
    assert not failures, "\n\n".join(failures[:20])


def _validated(operation, live_server, session, **case) -> schemathesis.Response:
    built = operation.Case(**case)
    response = built.call(base_url=live_server.root, session=session, timeout=15)
    built.validate_response(response, checks=CHECKS)
    return response


def test_described_examples_conform(api, live_server, release_dir):
    """What generation rarely reaches: real entities in every format, redirects, queries, 304, 503."""
    session = _session()
    release = Release(release_dir)
    path = sorted(release.entities)[0]
    kind, slug = path.split("/", 1)
    identifier = _validated(api["/id/{kind}/{slug}"]["GET"], live_server, session,
                            path_parameters={"kind": kind, "slug": slug})
    assert identifier.status_code == 303
    document = api["/doc/{kind}/{slug}"]["GET"]
    for suffix in ("", ".ttl", ".jsonld", ".nt", ".rdf", ".html"):
        response = _validated(document, live_server, session, path_parameters={"kind": kind, "slug": slug + suffix})
        assert response.status_code == 200, suffix
        cached = _validated(document, live_server, session, path_parameters={"kind": kind, "slug": slug + suffix},
                            headers={"If-None-Match": response.headers["etag"][0]})
        assert cached.status_code == 304
    for accept in ("text/html", "application/ld+json", "text/csv"):
        response = _validated(document, live_server, session, path_parameters={"kind": kind, "slug": slug},
                              headers={"Accept": accept})
        assert response.status_code == (406 if accept == "text/csv" else 200)
    for name in ("ontology", "shapes", "dataset"):
        html = ["html"] if release.has(f"pages/{name}.en.html") else []
        for suffix in [f.extension for f in GRAPH_FORMATS.values()] + html:
            response = _validated(api[f"/{name}.{{extension}}"]["GET"], live_server, session,
                                  path_parameters={"extension": suffix}, headers={"Accept": "application/json"})
            assert response.status_code == 200, (name, suffix)  # a suffix needs no Accept
    dump = api["/dumps/{name}"]["GET"]
    partial = _validated(dump, live_server, session, path_parameters={"name": "kazdata.nt"},
                         headers={"Range": "bytes=0-9"})
    assert partial.status_code == 206 and len(partial.content) == 10
    assert _validated(dump, live_server, session, path_parameters={"name": "kazdata.nt"},
                      headers={"Range": "bytes=999999999-"}).status_code == 416
    assert _validated(api["/SHA256SUMS"]["GET"], live_server, session).status_code == 200
    sparql_get, sparql_post = api["/sparql"]["GET"], api["/sparql"]["POST"]
    for accept in ("application/sparql-results+json", "text/csv", "text/html", "text/turtle"):
        assert _validated(sparql_get, live_server, session, query={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 2"},
                          headers={"Accept": accept}).status_code == (406 if accept == "text/turtle" else 200)
    for fmt in ("ttl", "jsonld", "nt", "rdf", "trig", "nq"):
        assert _validated(sparql_get, live_server, session, query={"query": "CONSTRUCT WHERE { ?s a ?t } LIMIT 3",
                                                                   "format": fmt}).status_code == 200
    assert _validated(sparql_get, live_server, session, headers={"Accept": "text/turtle"}).status_code == 200
    assert _validated(sparql_post, live_server, session, body="ASK { ?s ?p ?o }",
                      media_type="application/sparql-query").status_code == 200
    assert _validated(sparql_post, live_server, session, body={"query": "ASK { ?s ?p ?o }", "update": "x"},
                      media_type="application/x-www-form-urlencoded").status_code == 403
    assert _validated(sparql_post, live_server, session, body="x" * 1_000_001,
                      media_type="application/sparql-query").status_code == 413
    slow = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
        f"VALUES ?v{i} {{ " + " ".join(map(str, range(40))) + " }" for i in range(8)) + " }"
    timed_out = _validated(sparql_get, live_server, session, query={"query": slow, "timeout": 0.2})
    assert timed_out.status_code == 503
    example = release.examples[0]["name"]
    assert _validated(api["/sparql/examples/{name}"]["GET"], live_server, session,
                      path_parameters={"name": example}).status_code == 200
