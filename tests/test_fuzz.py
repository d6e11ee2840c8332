"""Property tests over the whole HTTP surface: whatever a client sends, the server answers soundly.

Sound means: no 5xx except the deliberate 503 of a query that ran out of time; no stack trace and
no internal filesystem path in any body or header; every 4xx says what was wrong; an answer comes
back. Most properties run against the app through Flask's test client (fast); a smaller set talks
raw HTTP to the real server, where request lines, chunked bodies and byte-level
garbage reach the code as a real client would send them.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import string
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlencode

import pytest
import requests
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from kazdata.formats import DATASET_FORMATS, GRAPH_FORMATS, HTML, RESULT_FORMATS

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted((ROOT / "data" / "queries").glob("*.rq"))
EXAMPLES = [path.read_text(encoding="utf-8") for path in QUERIES]
MAX_BODY = 1_000_000  # the default of --max-body, which the test app and the live server use

CLIENT = settings(deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow,
                                                                      HealthCheck.data_too_large])
LIVE = settings(CLIENT, max_examples=25)

METHODS = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
MEDIA_TYPES = sorted({m for f in (*GRAPH_FORMATS.values(), *DATASET_FORMATS.values(), *RESULT_FORMATS.values(), HTML)
                      for m in f.media_types} | {"application/json", "text/*", "*/*", "application/*",
                                                 "image/png", "application/sparql-query"})
PREFIXES = ["/", "/id/", "/id/event/", "/id/place/", "/doc/", "/doc/event/", "/doc/place/", "/index/",
            "/ontology", "/ontology.", "/shapes.", "/dataset.", "/.well-known/", "/dumps/", "/sparql/",
            "/sparql/examples/", "/static/", "/context.jsonld/", "/sitemap.xml", "/SHA256SUMS", "/openapi.json"]
TRICKY_SEGMENTS = ["..", ".", "", "%2e%2e", "%2E%2E%2F", "%2f", "%2F..%2F", "..%2f..%2fSHA256SUMS", "%00", "%ff",
                   "%c3%28", "%ed%a0%80", "%", "%zz", "%25", "SHA256SUMS", "index.json", "docs", "dumps",
                   "kazdata.ttl", "kazdata.nq.gz", "aktau", "aktau.ttl", "aktau.html", "aktau.", ".ttl",
                   "zhanaozen-shooting-2011-12-16", "event", "place", "etc", "passwd", "~", "%7E", ";", "*",
                   "01-articles", "sparql.js", "..%5c..%5c", "\u0416\u0430\u04a3\u0430\u04e9\u0437\u0435\u043d"]
#: What must never leave the server: stack traces and where the code or the release live.
LEAKS = ["Traceback", 'File "/', "site-packages", "/work/", str(ROOT)]

# -- request parts ----------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)
segment = st.one_of(
    st.sampled_from(TRICKY_SEGMENTS),
    st.text(max_size=24).map(lambda s: quote(s, safe="")),  # any Unicode, percent-encoded as UTF-8
    st.text(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@", max_size=24),
    st.binary(min_size=1, max_size=8).map(lambda b: quote(b, safe="")),  # any bytes, also invalid UTF-8
)
paths = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), st.lists(segment, max_size=4)).map(lambda t: t[0] + "/".join(t[1])),
    st.lists(segment, min_size=1, max_size=8).map(lambda segs: "/" + "/".join(segs)),
    st.tuples(st.sampled_from(PREFIXES), st.integers(1000, 20000)).map(lambda t: t[0] + "a" * t[1]),  # very long
)
media_range = st.tuples(st.one_of(st.sampled_from(MEDIA_TYPES), header_text),
                        st.one_of(st.none(), st.sampled_from(["0", "0.1", "1", "1.0", "0.001", "2", "-1", "x", ""]))
                        ).map(lambda t: t[0] + ("" if t[1] is None else f";q={t[1]}"))
accept = st.lists(media_range, max_size=4).map(", ".join)
languages = st.one_of(st.lists(st.sampled_from(["en", "ru", "kk", "kk-KZ", "de", "*", "en;q=0.1", "ru;q=0", "x-y-z"]),
                               max_size=4).map(", ".join), header_text)
etags = st.one_of(st.sampled_from(["*", '"x"', 'W/"x"', '""', "W/", '"', ",,,"]), header_text)
ranges = st.one_of(st.tuples(st.integers(-5, 10**7), st.integers(-5, 10**7)).map(lambda t: f"bytes={t[0]}-{t[1]}"),
                   st.integers(-5, 10**7).map(lambda n: f"bytes=-{n}"),
                   st.integers(0, 10**7).map(lambda n: f"bytes={n}-"),
                   st.sampled_from(["bytes=0-1,3-4", "bytes=", "bytes=-", "items=0-1", "bytes=1-0"]), header_text)
dates = st.one_of(st.sampled_from(["Sat, 01 Jan 2000 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "0", "yesterday"]),
                  header_text)
headers = st.fixed_dictionaries({}, optional={
    "Accept": accept, "Accept-Language": languages,
    "Accept-Encoding": st.sampled_from(["gzip", "identity", "*", "br;q=1, gzip;q=0", "x"]),
    "If-None-Match": etags, "If-Modified-Since": dates, "If-Range": st.one_of(etags, dates), "Range": ranges,
    "Content-Type": st.one_of(st.sampled_from(["application/sparql-query", "application/x-www-form-urlencoded",
                                               "application/sparql-update", "multipart/form-data; boundary=x",
                                               "text/plain", "application/json"]), header_text),
})
PARAMETER_NAMES = ["query", "format", "output", "results", "timeout", "default-graph-uri", "named-graph-uri", "update",
                   "x", ""]
raw_bits = st.sampled_from(["%ff", "%c3%28", "%ed%a0%80", "%f4%90%80%80", "%", "%4", "%zz", "&&", "==", ";", "+", "%00",
                            "%2B"])
query_strings = st.one_of(
    st.lists(st.tuples(st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(max_size=8)), st.text(max_size=40)),
             max_size=5).map(lambda pairs: urlencode(pairs)),
    st.lists(st.one_of(raw_bits, st.text(string.ascii_letters + "=&", max_size=6)), max_size=8).map("".join),
)


#: \u and \U escapes anywhere in a query: out of Unicode's range, lone surrogates, and valid ones
escapes = st.one_of(st.integers(0, 0xFFFFFFFF).map(lambda c: f"\\U{c:08X}"),
                    st.integers(0xD800, 0xDFFF).map(lambda c: f"\\u{c:04X}"),
                    st.integers(0xD800, 0xDFFF).map(lambda c: f"SERVICE <http://example.org/\\u{c:04X}> {{ ?s ?p ?o }}"),
                    st.integers(0xD800, 0xDFFF).map(lambda c: f"FROM <http://example.org/\\u{c:04x}>"),
                    st.sampled_from(["\\UFFFFFFFF", "\\U00110000", '"\\UFFFFFFFF"', "<\\uDFFF>"]))


#: any character a client can send: a lone surrogate has no UTF-8 form, so no request can carry it
#: (``st.characters()`` draws them, and the test's own encoding failed before any request)
NO_SURROGATE = st.characters(exclude_categories=["Cs"])


@st.composite
def mutated_examples(draw) -> str:
    """An example query with its lines mutated: deleted, duplicated, swapped, cut, or salted."""
    lines = draw(st.sampled_from(EXAMPLES)).split("\n")
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "swap", "cut", "salt", "case", "replace"]))
        if how == "delete" and len(lines) > 1:
            del lines[index]
        elif how == "duplicate":
            lines.insert(index, lines[index])
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif how == "cut":
            lines[index] = lines[index][:draw(st.integers(0, len(lines[index])))]
        elif how == "case":
            lines[index] = lines[index].swapcase()
        elif how == "replace" and lines[index]:
            at = draw(st.integers(0, len(lines[index]) - 1))
            lines[index] = lines[index][:at] + draw(NO_SURROGATE) + lines[index][at + 1:]
        else:
            salt = draw(st.one_of(st.text(max_size=10), escapes, st.sampled_from([
                "SERVICE <http://example.org/sparql> { ?s ?p ?o }", "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                "FROM <http://example.org/g>", "FROM NAMED <https://w3id.org/kazdata/graph/ontology>",
                "GRAPH ?g {", "}", "{", "LIMIT 0", "OFFSET 100000", "LIMIT -1", "#", '"', "'''", "<", "\\u0000",
                "BIND(<<( <urn:a> <urn:b> <urn:c> )>> AS ?t)", 'BIND("x"@en--ltr AS ?d)', "FILTER(REGEX(?x, \"(\"))",
                "VALUES ?v { 1 2 3 }", "ORDER BY ?nothing", "GROUP BY ?x", "DESCRIBE ?x", "CONSTRUCT WHERE",
                "BIND(1/0 AS ?z)", "?", "\x00", "\u202e", "\U0001f4a5"])))
            lines.insert(index, salt)
    return "\n".join(lines)


sparql_texts = st.one_of(mutated_examples(), st.text(max_size=300),
                         st.lists(st.one_of(st.text(max_size=8), escapes), max_size=6).map(" ".join),
                         st.sampled_from(EXAMPLES).map(lambda q: q.replace("SELECT", "CONSTRUCT", 1)))
formats = st.one_of(st.none(), st.sampled_from(sorted({f.extension for f in (*GRAPH_FORMATS.values(),
                    *DATASET_FORMATS.values(), *RESULT_FORMATS.values())} | {"html", "json", "turtle", "x"})))

# -- the properties ---------------------------------------------------------------------------


def leaks(release_dir) -> list[str]:
    return LEAKS + [str(release_dir), str(release_dir.resolve())]


#: the characters RFC 3986 allows in a URI (unreserved, reserved, and '%' for escapes)
URI_CHARACTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")


def not_http(target: bytes) -> bool:
    """Whether a request target holds bytes a URI cannot hold unencoded (RFC 9112 3.2)."""
    return any(byte not in URI_CHARACTERS for byte in target)


def assert_sound(status: int, header_items, body: bytes, *, sent: str, markers: list[str], method: str = "GET",
                 query_may_time_out: bool = False, not_http: bool = False) -> None:
    """The properties every response has, whatever was sent (``sent`` is the request, for messages)."""
    headers = {name.lower(): value for name, value in header_items}
    text = body.decode("utf-8", "replace")
    assert status < 500 or (query_may_time_out and status == 503 and "time limit" in text), \
        f"{status} for {sent[:500]!r}: {text[:500]}"
    everything = text + "\n" + "\n".join(f"{name}: {value}" for name, value in header_items)
    for marker in markers:
        if marker not in sent:  # an error message may quote what the client sent, and nothing else
            assert marker not in everything, f"{marker!r} leaked for {sent[:300]!r}: {everything[:800]}"
    if 400 <= status < 500 and method != "HEAD" and not text.strip():
        # A request target with raw bytes over 0x7F, control characters or characters a URI
        # cannot hold (such as '"') is not HTTP: granian's parser may refuse it with a bare 400
        # before any application code runs. Every other client error says what is wrong.
        assert not_http and status == 400, f"empty {status} for {sent[:300]!r}"
    if status == 405:
        assert headers.get("allow"), f"405 without Allow for {sent[:300]!r}"


def _sent(*parts) -> str:
    """The request as text, raw and percent-decoded, so that quoting it back is not taken for a leak."""
    text = " ".join(p.decode("latin-1") if isinstance(p, bytes) else str(p) for p in parts)
    return text + " " + unquote_to_bytes(text).decode("utf-8", "replace") + " " + \
        unquote_to_bytes(text.replace("+", " ")).decode("utf-8", "replace")


def _call(client, method, path, markers, *, query_string="", headers=None, data=None, query_may_time_out=False):
    path = "/" + path.lstrip("/")  # the test client would read '//x' as a host name, not a path
    if isinstance(query_string, bytes):  # raw bytes, as a server hands them on: latin-1 in the WSGI environ
        response = client.open(path, method=method, headers=headers or {}, data=data,
                               environ_overrides={"QUERY_STRING": query_string.decode("latin-1")})
    else:
        response = client.open(path, method=method, query_string=query_string, headers=headers or {}, data=data)
    body = response.get_data()  # also runs streamed bodies to the end: an error there would raise here
    assert_sound(response.status_code, list(response.headers.items()), body,
                 sent=_sent(method, path, query_string, headers, data), markers=markers, method=method,
                 query_may_time_out=query_may_time_out)
    return response


@settings(CLIENT, max_examples=300)
@given(method=st.sampled_from(METHODS), path=paths, query_string=query_strings, headers=headers)
def test_any_request_anywhere(client, release_dir, method, path, query_string, headers):
    response = _call(client, method, path, leaks(release_dir), query_string=query_string, headers=headers,
                     data=b"x" if method in ("POST", "PUT", "PATCH") else None, query_may_time_out=True)
    assert response.status_code != 503 or path.rstrip("/") == "/sparql"


@pytest.fixture(scope="module")
def resources(release_dir) -> list[str]:
    """URLs that exist: every route with real values (entity documents, dumps, examples...)."""
    from kazdata.release.opened import Release
    release = Release(release_dir)
    entities = sorted(release.entities)[::7]
    urls = ["/", "/timeline", "/ontology", "/ontology.ttl", "/ontology.html", "/shapes", "/shapes.rdf", "/dataset",
            "/dataset.jsonld", "/.well-known/void", "/context.jsonld", "/sitemap.xml", "/dumps/", "/dumps/SHA256SUMS",
            "/SHA256SUMS", "/sparql", "/openapi.json", "/static/kazdata.css"]
    urls += [f"/index/{kind}" for kind in sorted({e["kind"] for e in release.entities.values()})]
    urls += [f"/id/{path}" for path in entities] + [f"/doc/{path}" for path in entities]
    urls += [f"/doc/{entities[0]}.{ext}" for ext in ("ttl", "jsonld", "nt", "rdf", "html")]
    urls += ["/" + name for name in release.digests if name.startswith("dumps/")]
    urls += [f"/sparql/examples/{e['name']}" for e in release.examples[:3]]
    return urls


@settings(CLIENT, max_examples=200)
@given(data=st.data(), method=st.sampled_from(["GET", "GET", "HEAD"]), headers=headers, query_string=query_strings)
def test_existing_resources_under_any_negotiation(client, release_dir, resources, data, method, headers, query_string):
    """Real resources with random Accept, Accept-Language, If-None-Match, If-Modified-Since and Range."""
    path = data.draw(st.sampled_from(resources))
    if path == "/sparql":
        query_string = ""  # a random query string would be a random query; other tests send those
    response = _call(client, method, path, leaks(release_dir), headers=headers, query_string=query_string)
    assert response.status_code in (200, 204, 206, 303, 304, 400, 406, 416), (path, headers, response.status_code)
    if response.status_code == 304:
        assert not response.get_data()
    if response.status_code == 200 and "ETag" in response.headers and "Range" not in headers:
        # the same request (so the same variant) with the ETag it got: not modified. (With a Range,
        # Werkzeug answers 206 before it looks at If-None-Match.)
        again = client.open(path, method=method, query_string=query_string,
                            headers={**headers, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304, (path, headers, again.status_code)


def _send_query(client, text: str, how: str, accept, fmt, markers, timeout: str = "2"):
    parameters = [("timeout", timeout)] + ([("format", fmt)] if fmt else [])
    headers = {"Accept": accept} if accept else {}
    if how == "get":
        return _call(client, "GET", "/sparql", markers, query_string=urlencode([("query", text), *parameters]),
                     headers=headers, query_may_time_out=True)
    if how == "form":
        return _call(client, "POST", "/sparql", markers, data=urlencode([("query", text)]).encode(),
                     query_string=urlencode(parameters),
                     headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}, query_may_time_out=True)
    return _call(client, "POST", "/sparql", markers, data=text.encode("utf-8"), query_string=urlencode(parameters),
                 headers={**headers, "Content-Type": "application/sparql-query"}, query_may_time_out=True)


@settings(CLIENT, max_examples=150)
@given(text=sparql_texts, how=st.sampled_from(["get", "form", "body"]), accept=st.one_of(st.none(), accept),
       fmt=formats)
@example(text='SELECT * WHERE { BIND("\\UFFFFFFFF" AS ?x) }', how="get", accept=None, fmt=None)  # 500 once
@example(text="SELECT * WHERE { SERVICE <http://e/\\uD800> { ?s ?p ?o } }", how="body", accept="text/html", fmt=None)
def test_sparql_any_query_text(client, release_dir, text, how, accept, fmt):
    """Example queries with mutated lines, and garbage, by every protocol binding, in every format."""
    response = _send_query(client, text, how, accept, fmt, leaks(release_dir))
    assert response.status_code in (200, 400, 403, 406, 503), (text, response.status_code, response.get_data()[:300])


iris = st.one_of(st.sampled_from(["<urn:a>", "<http://example.org/>", "<http://example.org/1>", "rdf:type",
                                   "schema:name", "<https://w3id.org/kazdata/id/place/aktau>", "kaz:Strike"]),
                 st.text(max_size=12).map(lambda t: f"<http://example.org/{quote(t, safe='')}>"))
literal_forms = st.one_of(
    st.just(""),
    st.sampled_from(["en", "EN-gb", "kk-Cyrl-KZ", "x-private", "en--ltr", "ar--rtl"]).map(lambda t: "@" + t),
    st.one_of(st.sampled_from(["xsd:integer", "xsd:date", "xsd:boolean", "rdf:HTML", "rdf:XMLLiteral", "rdf:JSON",
                               "rdf:langString", "rdf:dirLangString", "xsd:string"]), iris).map(lambda t: "^^" + t))
literals = st.tuples(st.text(max_size=20), literal_forms).map(lambda t: json.dumps(t[0], ensure_ascii=False) + t[1])
blank_nodes = st.sampled_from(["_:b", "_:c", "[]"])
objects = st.one_of(iris, literals, blank_nodes, st.sampled_from(["1", "1.5", "-1e3", "true"]),
                    st.tuples(iris, iris, st.one_of(iris, literals)).map(lambda t: f"<<( {t[0]} {t[1]} {t[2]} )>>"))
triples = st.tuples(st.one_of(iris, blank_nodes), st.one_of(iris, st.just("a")), objects).map(" ".join)


@pytest.mark.parametrize("fmt", [f.extension for f in (*GRAPH_FORMATS.values(), *DATASET_FORMATS.values())])
@settings(CLIENT, max_examples=15)
@given(template=st.lists(triples, min_size=1, max_size=4))
@example(template=["<urn:a> <urn:b> <<( <urn:a> <urn:b> <urn:c> )>>"])  # JSON-LD answered 500 to these two
@example(template=['<urn:a> <urn:b> "x"@en--ltr'])
def test_any_constructed_graph_in_any_format(client, release_dir, template, fmt):
    """Whatever terms a CONSTRUCT makes (language tags, datatypes, RDF 1.2 triple terms and directional
    strings), each graph format either carries them or says 406, never 500."""
    query = "CONSTRUCT { " + " . ".join(template) + " } WHERE {}"
    response = _call(client, "GET", "/sparql", leaks(release_dir),
                     query_string=urlencode({"query": query, "format": fmt}))
    assert response.status_code in (200, 400, 406), (query, fmt, response.get_data()[:300])


@settings(CLIENT, max_examples=40)
@given(text=st.sampled_from(EXAMPLES), how=st.sampled_from(["get", "form", "body"]), fmt=formats)
def test_sparql_every_example_answers(client, release_dir, text, how, fmt):
    """Every example is a SELECT or an ASK: answered, except in a format only a graph can take (406)."""
    response = _send_query(client, text, how, None, fmt, leaks(release_dir), timeout="10")
    graph_only = {name for f in (*GRAPH_FORMATS.values(), *DATASET_FORMATS.values()) for name in (f.extension, f.name)}
    assert response.status_code == (406 if fmt in graph_only else 200), (fmt, response.get_data()[:500])


@settings(CLIENT, max_examples=60)
@given(raw=st.binary(max_size=200), where=st.sampled_from(["query string", "form", "body", "path"]))
def test_invalid_utf8_anywhere(client, release_dir, raw, where):
    """Bytes that are not UTF-8, raw or percent-encoded, in the query string, the body and the path."""
    assume(b"\x00" not in raw or where != "path")
    encoded = quote(raw, safe="")
    markers = leaks(release_dir)
    if where == "query string":
        _call(client, "GET", "/sparql", markers, query_string=b"query=" + raw + b"&x=" + encoded.encode())
    elif where == "form":
        _call(client, "POST", "/sparql", markers, data=b"query=" + raw + b"&format=" + encoded.encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif where == "body":
        _call(client, "POST", "/sparql", markers, data=raw, headers={"Content-Type": "application/sparql-query"})
    else:
        _call(client, "GET", "/doc/event/" + encoded, markers)


@settings(CLIENT, max_examples=12)
@given(size=st.integers(MAX_BODY - 2000, MAX_BODY + 2000), how=st.sampled_from(["form", "body", "other"]))
def test_bodies_up_to_and_over_the_limit(client, release_dir, size, how):
    """A real query padded with a comment to around the body limit: answered below it, 413 above."""
    base = "ASK { ?s ?p ?o }\n#"
    if how == "form":
        body = urlencode([("query", base)]).encode() + b"x" * (size - len(urlencode([("query", base)])))
        content_type = "application/x-www-form-urlencoded"
    else:
        body = base.encode() + b"x" * (size - len(base))
        content_type = "application/sparql-query" if how == "body" else "text/plain"
    assert len(body) == size
    response = _call(client, "POST", "/sparql", leaks(release_dir), data=body, headers={"Content-Type": content_type})
    if how == "other":  # refused for its Content-Type, before the body is read
        assert response.status_code in (400, 413)
    elif size > MAX_BODY:
        assert response.status_code == 413
    else:
        assert response.status_code == 200, response.get_data()[:300]


# -- against the real server ------------------------------------------------------------------


def raw_http(live_server, head: bytes, body: bytes = b"", timeout: float = 20, method: str = "GET"
             ) -> tuple[int, list, bytes]:
    """Send bytes as they are (no client-side quoting or normalisation) and read the answer."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=timeout) as sock:
        try:
            sock.sendall(head + body)
        except OSError:  # the server may answer (413, 400) and close before reading all of a large body
            pass
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return response.status, response.getheaders(), response.read()


request_targets = st.one_of(
    paths.filter(lambda p: len(p) < 7000).map(lambda p: p.encode("utf-8", "surrogateescape")),
    st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=40)).map(lambda t: t[0].encode() + t[1]),
    st.tuples(st.sampled_from(["/sparql?query=", "/sparql?", "/?"]), st.binary(max_size=60),
              ).map(lambda t: t[0].encode() + t[1]),
)


@LIVE
@given(method=st.sampled_from(METHODS + ["FOO", "TRACE"]), target=request_targets, headers=headers)
def test_live_raw_requests(live_server, release_dir, method, target, headers):
    """Raw request lines (non-ASCII, invalid UTF-8, '..', encoded slashes) and headers to the production server."""
    assume(not any(c in target for c in b" \r\n\x00\t"))  # those end the request line: another test's subject
    lines = [f"{method} ".encode() + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
    status, header_items, body = raw_http(live_server, b"\r\n".join(lines) + b"\r\n\r\n", method=method)
    assert_sound(status, header_items, body, sent=_sent(target, headers), markers=leaks(release_dir), method=method,
                 query_may_time_out=True, not_http=not_http(target))


@LIVE
@given(text=sparql_texts, how=st.sampled_from(["get", "form", "body"]), accept=st.one_of(st.none(), accept))
def test_live_sparql_any_query_text(live_server, release_dir, text, how, accept):
    # a field value's surrounding whitespace is not part of it (RFC 9110 5.5); requests refuses to send it
    headers = {"Accept": accept.strip().encode("latin-1")} if accept else {}
    url = live_server.url("/sparql")
    if how == "get":
        response = requests.get(url, params={"query": text}, headers=headers, timeout=20)
    elif how == "form":
        response = requests.post(url, data={"query": text}, headers=headers, timeout=20)
    else:
        response = requests.post(url, data=text.encode(), timeout=20,
                                 headers={**headers, "Content-Type": "application/sparql-query"})
    assert_sound(response.status_code, list(response.headers.items()), response.content, sent=_sent(text, accept),
                 markers=leaks(release_dir), query_may_time_out=True)


def _chunked(data: bytes, size: int = 65536) -> bytes:
    return b"".join(b"%x\r\n" % len(data[i:i + size]) + data[i:i + size] + b"\r\n"
                    for i in range(0, len(data), size)) + b"0\r\n\r\n"


@pytest.mark.parametrize("size", [MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 3 * MAX_BODY])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("content_type", ["application/sparql-query", "application/x-www-form-urlencoded"])
def test_live_bodies_around_the_limit(live_server, release_dir, size, framing, content_type):
    """The body limit holds however the body is framed: a chunked body is not cut short and run."""
    query = "ASK { ?s ?p ?o }"
    prefix = (urlencode({"query": query}) + "%0A%23" if content_type.endswith("urlencoded") else query + "\n#").encode()
    body = prefix + b"x" * (size - len(prefix))
    framing_header = f"Content-Length: {len(body)}" if framing == "content-length" else "Transfer-Encoding: chunked"
    head = (f"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
            f"Accept: application/sparql-results+json\r\n{framing_header}\r\n\r\n").encode()
    status, header_items, answer = raw_http(live_server, head, body if framing == "content-length" else _chunked(body))
    assert_sound(status, header_items, answer, sent="", markers=leaks(release_dir), method="POST")
    if size > MAX_BODY:
        assert status == 413, answer[:300]
    else:
        assert status == 200 and json.loads(answer)["boolean"] is True, answer[:300]


@pytest.mark.parametrize("target", [b"/" + b"a" * 9000, b"/sparql?query=" + b"%20" * 3000,
                                    b"/doc/\xff\xfe/../x", b"/\xc3\xa9", b"/sparql?query=\xff"])
def test_live_request_lines_the_server_refuses(live_server, release_dir, target):
    head = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, header_items, body = raw_http(live_server, head)
    assert_sound(status, header_items, body, sent=_sent(target), markers=leaks(release_dir),
                 not_http=not_http(target))
    assert 400 <= status < 500


def test_live_responses_come_back_after_a_timed_out_query(live_server):
    """A query that runs out of time gets 503 and its worker is replaced; the next requests are answered."""
    slow = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
        f"VALUES ?v{i} {{ " + " ".join(map(str, range(40))) + " }" for i in range(8)) + " }"
    response = requests.get(live_server.url("/sparql"), params={"query": slow, "timeout": "0.5"}, timeout=30)
    assert response.status_code == 503 and "time limit" in response.text
    assert "Traceback" not in response.text
    rng = random.Random(0)
    for _ in range(10):
        path = rng.choice(["/", "/sparql?query=ASK%7B%7D", "/doc/place/aktau.ttl", "/dumps/SHA256SUMS"])
        assert requests.get(live_server.url(path), timeout=20).status_code == 200
