"""Results cut at ``--result-limit`` and ``--result-bytes`` are cut exactly, between rows, in
every format, and flagged; the query process writes them with pyoxigraph's writers
(``kazdata.sparql.answers``), so these check the bytes with parsers that are not ours: the
standard library (JSON, XML, CSV), a TSV reading written here, and rdflib (every RDF format).

Each test runs against a live ``kazdata serve`` (query processes) and an in-process app
(``--query-processes 0``, a thread of the web worker): the two places a query is evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
import requests
from rdflib import Dataset, Graph, Literal, URIRef

from tests.conftest import LiveServer

LIMIT = 7
#: 1005 bytes a row as SPARQL TSV (``"NN`` + 1000 ``y`` + ``"`` + a line end), ``NN`` from 10 to 29
ROW_BYTES = 1005
EX = "https://example.org/"
LABEL = 'row {n}\nline, "q"\ttab'
LABEL_SPARQL = 'CONCAT("row ", STR(?n), "\\nline, \\"q\\"\\ttab")'


def numbers(count: int) -> str:
    return " ".join(str(n) for n in range(1, count + 1))


def select(count: int) -> str:
    """``count`` rows, ordered from the largest ``?n`` down: the first ``LIMIT`` are known."""
    return (f"SELECT ?n ?label WHERE {{ VALUES ?n {{ {numbers(count)} }} BIND({LABEL_SPARQL} AS ?label) }} "
            "ORDER BY DESC(?n)")


def construct(count: int) -> str:
    return (f"CONSTRUCT {{ ?s <{EX}label> ?label }} WHERE {{ VALUES ?n {{ {numbers(count)} }} "
            f'BIND(IRI(CONCAT("{EX}n", STR(?n))) AS ?s) BIND({LABEL_SPARQL} AS ?label) }}')


WIDE = ('SELECT ?x WHERE { VALUES ?n { ' + " ".join(str(n) for n in range(10, 30)) + ' } '
        'BIND(CONCAT(STR(?n), "' + "y" * 1000 + '") AS ?x) } ORDER BY ?n')


@pytest.fixture(scope="module", params=["query processes", "in process"])
def ask(request, release_dir):
    """``ask(query, accept, **settings)`` -> (status, headers, body) from a server with
    ``--result-limit LIMIT`` (and ``--result-bytes`` when given)."""
    servers: dict = {}

    def answer(query: str, accept: str, result_bytes: int = 32_000_000):
        if request.param == "in process":
            from kazdata.settings import load_settings
            from kazdata.web.app import create_app
            if result_bytes not in servers:
                servers[result_bytes] = create_app(load_settings(
                    {"release": release_dir, "query_processes": 0, "result_limit": LIMIT,
                     "result_bytes": result_bytes}, environ={})).test_client()
            got = servers[result_bytes].post("/sparql", data={"query": query}, headers={"Accept": accept})
            return got.status_code, got.headers, got.data
        if result_bytes not in servers:
            servers[result_bytes] = LiveServer(release_dir, ["--result-limit", str(LIMIT), "--result-bytes",
                                                             str(result_bytes), "--query-processes", "2"])
        got = requests.post(servers[result_bytes].url("/sparql"), data={"query": query},
                            headers={"Accept": accept}, timeout=30)
        return got.status_code, got.headers, got.content

    yield answer
    for server in servers.values():
        if isinstance(server, LiveServer):
            server.stop()


def _flag(headers) -> str | None:
    return headers.get("X-Kazdata-Truncated")


def _tsv_rows(body: bytes) -> list[list[str]]:
    lines = body.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every line, the last too, ends with a line feed
    return [line.split("\t") for line in lines[1:-1]]


def _rows(fmt: str, body: bytes) -> list[tuple[str, str]]:
    """(n, label) of each row, as the format's own parser reads it."""
    if fmt == "application/sparql-results+json":
        return [(b["n"]["value"], b["label"]["value"]) for b in json.loads(body)["results"]["bindings"]]
    if fmt == "application/sparql-results+xml":
        ns = "{http://www.w3.org/2005/sparql-results#}"
        return [tuple(binding[0].text for binding in result) for result in ET.fromstring(body).iter(ns + "result")]
    if fmt == "text/csv":
        return [tuple(row) for row in list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))[1:]]
    escaped = {"\\n": "\n", '\\"': '"', "\\t": "\t"}
    rows = []
    for n, label in _tsv_rows(body):
        assert label.startswith('"') and label.endswith('"')
        for escape, character in escaped.items():
            label = label.replace(escape, character)
        rows.append((n, label[1:-1]))
    return rows


RESULTS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values"]
GRAPHS = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld",
          "application/rdf+xml": "xml", "application/trig": "trig", "application/n-quads": "nquads"}


@pytest.mark.parametrize("fmt", RESULTS)
def test_rows_past_the_limit_are_cut_between_rows_and_flagged(ask, fmt):
    status, headers, body = ask(select(30), fmt)
    assert status == 200 and headers["Content-Type"].startswith(fmt)
    assert _rows(fmt, body) == [(str(n), LABEL.format(n=n)) for n in range(30, 30 - LIMIT, -1)]  # ORDER BY kept
    assert _flag(headers) == f"true; limit={LIMIT}"


@pytest.mark.parametrize("count", [LIMIT, LIMIT + 1])
@pytest.mark.parametrize("fmt", RESULTS)
def test_exactly_the_limit_is_not_flagged_and_one_more_is(ask, fmt, count):
    status, headers, body = ask(select(count), fmt)
    assert status == 200
    assert [n for n, _label in _rows(fmt, body)] == [str(n) for n in range(count, count - LIMIT, -1)]
    assert _flag(headers) == (f"true; limit={LIMIT}" if count > LIMIT else None)


def _graph(fmt: str, body: bytes) -> Graph:
    if GRAPHS[fmt] in ("trig", "nquads"):
        dataset = Dataset()
        dataset.parse(data=body, format=GRAPHS[fmt])
        graph = Graph()
        for quad in dataset.quads((None, None, None, None)):
            graph.add(quad[:3])
        return graph
    return Graph().parse(data=body, format=GRAPHS[fmt])


@pytest.mark.parametrize("fmt", list(GRAPHS))
@pytest.mark.parametrize("count", [LIMIT, 30])
def test_triples_past_the_limit_are_cut_and_flagged_in_every_rdf_format(ask, fmt, count):
    status, headers, body = ask(construct(count), fmt)
    assert status == 200 and headers["Content-Type"].startswith(fmt)
    every = {(URIRef(f"{EX}n{n}"), URIRef(f"{EX}label"), Literal(LABEL.format(n=n))) for n in range(1, count + 1)}
    got = set(_graph(fmt, body))
    assert len(got) == LIMIT and got <= every  # whole triples, none made up
    assert _flag(headers) == (f"true; limit={LIMIT}" if count > LIMIT else None)


@pytest.mark.parametrize("allowed, rows", [(5 * ROW_BYTES, 5), (5 * ROW_BYTES + 1, 5), (5 * ROW_BYTES - 1, 4)])
@pytest.mark.parametrize("fmt", ["application/sparql-results+json", "text/tab-separated-values"])
def test_result_bytes_keep_the_rows_that_fit_whole(ask, fmt, allowed, rows):
    """``--result-bytes`` counts the rows as TSV lines (terms in N-Triples form): 5 rows of 1005
    bytes fit in 5025 bytes, 4 in 5024."""
    status, headers, body = ask(WIDE, fmt, result_bytes=allowed)
    assert status == 200
    values = ([b["x"]["value"] for b in json.loads(body)["results"]["bindings"]] if "json" in fmt
              else [cells[0].strip('"') for cells in _tsv_rows(body)])
    assert values == [f"{n}{'y' * 1000}" for n in range(10, 10 + rows)]
    assert _flag(headers) == f"true; limit={LIMIT}"


def test_an_answer_larger_than_a_piece_streams_whole(ask):
    """An answer past the relay's piece size (64 kB) comes through whole: 7 rows of 20 kB."""
    query = ('SELECT ?x WHERE { VALUES ?n { ' + numbers(7) + ' } BIND(CONCAT(STR(?n), "'
             + "z" * 20_000 + '") AS ?x) } ORDER BY ?n')
    status, headers, body = ask(query, "application/sparql-results+json")
    assert status == 200 and int(headers["Content-Length"]) == len(body) > 140_000
    assert [b["x"]["value"] for b in json.loads(body)["results"]["bindings"]] == [
        f"{n}{'z' * 20_000}" for n in range(1, 8)]


def test_the_time_limit_runs_to_the_last_byte(release_dir):
    """The query process holds its answer's connection until the web worker has relayed the last
    byte, under the time limit: a client that stops reading a large answer has it cut short of
    its Content-Length at the limit (never passed off as complete), and the server answers the
    next query."""
    import socket
    import time
    from urllib.parse import quote
    # 5 s: the 20 MB answer must be evaluated within the limit for its relay to outlast it, and
    # past 0.2 s the query process runs at niceness 19 (on a busy machine 2 s was too little).
    live = LiveServer(release_dir, ["--query-timeout", "5", "--query-processes", "1", "--result-bytes", "60000000"])
    try:
        large = ('SELECT ?x WHERE { VALUES ?a { ' + numbers(100) + ' } VALUES ?b { ' + numbers(100) + ' } '
                 'BIND(CONCAT(STR(?a), "-", STR(?b), "' + "w" * 2000 + '") AS ?x) }')
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            sock.sendall(f"GET /sparql?query={quote(large)} HTTP/1.1\r\nHost: x\r\n"
                         "Accept: text/tab-separated-values\r\nConnection: close\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1024)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            time.sleep(7)  # past the 5 s limit without reading
            received = len(head.split(b"\r\n\r\n", 1)[1])
            while True:
                try:
                    piece = sock.recv(1 << 20)
                except ConnectionResetError:
                    break
                if not piece:
                    break
                received += len(piece)
        assert length > 20_000_000 and received < length
        after = requests.get(live.url("/sparql"), params={"query": "ASK {}"}, timeout=30,
                             headers={"Accept": "application/sparql-results+json"})
        assert after.status_code == 200
    finally:
        live.stop()


class _RowByRow:
    """Stands for pyoxigraph's solutions or triples with a writer that writes one line per
    ``write`` and stops when told (pyoxigraph's buffers several lines a write, and writes the
    buffer again when a write fails: on those copies a cut one line too late went unseen)."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.written = 0  # how many lines the writer wrote before it was stopped

    def serialize(self, output, format) -> None:
        for line in self.lines:
            self.written += 1
            output.write(line)


@pytest.mark.parametrize("count", [LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 2])
def test_the_cut_keeps_exactly_the_limit_whatever_the_writers_pieces(count):
    from kazdata.formats import N_TRIPLES, RESULT_FORMATS
    from kazdata.sparql.answers import graph_answer, select_answer
    rows = [f"{n}\n".encode() for n in range(1, count + 1)]
    solutions = _RowByRow([b"?n\n", *rows])
    answer = select_answer(solutions, RESULT_FORMATS["tsv"], LIMIT, 10_000)
    assert (answer.read(), answer.truncated) == (b"?n\n" + b"".join(rows[:LIMIT]), count > LIMIT)
    # the writer, and with it the evaluation, is stopped at the row past the limit
    assert solutions.written == 1 + min(count, LIMIT + 1)
    triples = [f"<{EX}n{n}> <{EX}p> {n} .\n".encode() for n in range(1, count + 1)]
    constructed = _RowByRow(triples)
    answer = graph_answer(constructed, N_TRIPLES, LIMIT, 10_000, {})
    assert (answer.read(), answer.truncated) == (b"".join(triples[:LIMIT]), count > LIMIT)
    assert constructed.written == min(count, LIMIT + 1)


@pytest.mark.parametrize("header", [b"?n\n", None], ids=["rows", "triples"])
def test_rows_that_fill_the_byte_bound_exactly_are_sent_whole_and_not_flagged(header):
    """``--result-bytes`` counts the lines kept (after a SELECT's header): lines that add up to
    exactly the bound are all kept and nothing is flagged; one byte less and the last line goes."""
    from kazdata.formats import N_TRIPLES, RESULT_FORMATS
    from kazdata.sparql.answers import graph_answer, select_answer
    if header is None:
        lines = [f"<{EX}n{n}> <{EX}p> {n} .\n".encode() for n in range(10, 13)]
        answer = lambda bound: graph_answer(_RowByRow(lines), N_TRIPLES, LIMIT, bound, {})  # noqa: E731
    else:
        lines = [f"{n}\n".encode() for n in range(10, 13)]
        answer = lambda bound: select_answer(_RowByRow([header, *lines]), RESULT_FORMATS["tsv"], LIMIT, bound)  # noqa: E731
    size = sum(map(len, lines))
    exact = answer(size)
    assert (exact.read(), exact.truncated) == ((header or b"") + b"".join(lines), False)
    short = answer(size - 1)
    assert (short.read(), short.truncated) == ((header or b"") + b"".join(lines[:-1]), True)


def test_an_ask_is_never_flagged_and_a_kind_refused_names_what_is_offered():
    import pyoxigraph as ox

    from kazdata.errors import NotAcceptable
    from kazdata.formats import RESULT_FORMATS
    from kazdata.sparql.answers import boolean_answer, refuse_kind
    answer = boolean_answer(ox.Store().query("ASK {}"), RESULT_FORMATS["srj"])
    assert (answer.read(), answer.truncated) == (ox.Store().query("ASK {}").serialize(
        format=ox.QueryResultsFormat.JSON), False)
    refused = refuse_kind([RESULT_FORMATS["srj"], RESULT_FORMATS["csv"]])
    assert isinstance(refused, NotAcceptable) and refused.status == 406
    assert "application/sparql-results+json" in refused.message and "text/csv" in refused.message
    assert refuse_kind([RESULT_FORMATS["csv"]], "CSV has no form for a graph").message == "CSV has no form for a graph"


def test_a_graph_answer_uses_the_prefixes_and_refuses_a_format_that_cannot_hold_its_terms():
    """Turtle is written with the endpoint's prefixes; a triple term asked for in JSON-LD (which
    has none; pyoxigraph's RDF/XML writes RDF 1.2's) is a 406 that names every other format."""
    from rdflib import Graph as RdflibGraph

    from kazdata.errors import NotAcceptable
    from kazdata.formats import GRAPH_FORMATS
    from kazdata.sparql.answers import graph_answer
    plain = [f"<{EX}s> <{EX}p> \"o\" .\n".encode()]
    turtle = graph_answer(_RowByRow(plain), GRAPH_FORMATS["ttl"], LIMIT, 10_000, {"ex": EX}).read()
    assert b"@prefix ex: <https://example.org/>" in turtle
    assert set(RdflibGraph().parse(data=turtle, format="turtle")) == {
        (URIRef(EX + "s"), URIRef(EX + "p"), Literal("o"))}
    triple_term = [f"<{EX}s> <{EX}p> <<( <{EX}a> <{EX}b> <{EX}c> )>> .\n".encode()]
    with pytest.raises(NotAcceptable) as refused:
        graph_answer(_RowByRow(triple_term), GRAPH_FORMATS["jsonld"], LIMIT, 10_000, {})
    assert refused.value.message.endswith("; ask for Turtle, N-Triples, RDF/XML, TriG, N-Quads"), refused.value.message
    assert refused.value.details["offered"] == ["text/turtle", "application/n-triples", "application/rdf+xml",
                                                "application/trig", "application/n-quads"]
