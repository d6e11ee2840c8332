"""A result written by pyoxigraph's own writers, cut exactly at the operator's limits.

Rows never become Python objects here: pyoxigraph evaluates and writes, Python only counts
lines in the bytes it writes. A SELECT is first written as SPARQL TSV, where every row is one
line (a newline or tab inside a term is escaped), and a CONSTRUCT as N-Triples, one triple a
line; the writer writes into ``_Lines``, which stops it (and with it the lazy evaluation) once it
has one row more than ``limit`` or more than ``max_bytes``. What is kept is cut at a line end,
so the cut is exact and falls between rows, and the kept lines are read back by pyoxigraph's
parser and written in the format the client asked for (nothing to do when it asked for TSV or
N-Triples). This was chosen over evaluating ``query + LIMIT n+1``, which needs to know where a
query's own LIMIT, OFFSET and trailing VALUES are, and cannot bound a CONSTRUCT's triples
(docs/decisions/004, *Result limit*).

The byte bound counts the kept lines: terms in their N-Triples form, a tab between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, cast

import pyoxigraph as ox

from kazdata.errors import NotAcceptable
from kazdata.formats import (
    DATASET_FORMATS,
    GRAPH_FORMATS,
    JSON_LD,
    N_TRIPLES,
    RESULT_FORMATS,
    Format,
    rdf_bytes,
)
from kazdata.http_contract import not_acceptable, offered_types

#: What a CONSTRUCT or DESCRIBE may be answered in: the formats of one graph, then those of a
#: dataset (the constructed triples form its default graph).
CONSTRUCT_FORMATS: list[Format] = [*GRAPH_FORMATS.values(), *DATASET_FORMATS.values()]
SELECT_FORMATS: list[Format] = list(RESULT_FORMATS.values())
_TSV = RESULT_FORMATS["tsv"]
#: beyond ``max_bytes``: what the writer may add before it is stopped (one of its ~8 kB writes)
_SLACK = 64 * 1024


#: every format an answer may be in, by extension (the extensions of the two tables differ)
ANSWER_FORMATS: dict[str, Format] = {f.extension: f for f in (*SELECT_FORMATS, *CONSTRUCT_FORMATS)}


@dataclass
class Answer:
    """A result as the client gets it: ``length`` bytes in ``fmt``, in ``pieces`` (all at once in
    the process that wrote them; as they arrive from a query process in a web worker), and
    whether rows were cut."""

    fmt: Format
    pieces: Iterable[bytes]
    length: int
    truncated: bool
    #: the query check's verdict on the text (it passed): whether it uses FROM
    uses_from: bool = False

    @classmethod
    def whole(cls, fmt: Format, body: bytes, truncated: bool) -> Answer:
        return cls(fmt, (body,), len(body), truncated)

    @property
    def content_type(self) -> str:
        return self.fmt.content_type

    def read(self) -> bytes:
        return b"".join(self.pieces)


class _Enough(Exception):
    """Raised from ``_Lines.write`` to stop pyoxigraph's writer (it passes it through)."""


class _Lines:
    """A binary output for pyoxigraph's writers that keeps what they write and stops them once
    there are more than ``max_lines`` line ends or ``max_bytes`` (plus slack) bytes."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.chunks: list[bytes] = []
        self.lines = 0
        self.size = 0
        self.max_lines = max_lines
        self.max_bytes = max_bytes + _SLACK

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.lines += data.count(b"\n")
        self.size += len(data)
        if self.lines > self.max_lines or self.size > self.max_bytes:
            raise _Enough
        return len(data)

    def flush(self) -> None:
        pass



def _written(results: ox.QuerySolutions | ox.QueryTriples, line_format, max_lines: int,
             max_bytes: int) -> bytes:
    output = _Lines(max_lines, max_bytes)
    try:
        results.serialize(cast(IO[bytes], output), format=line_format)
    except _Enough:
        pass
    return b"".join(output.chunks)


def _cut(data: bytes, start: int, limit: int, max_bytes: int) -> tuple[bytes, bool]:
    """``data[:start]`` (a header) and the most whole lines after it that are at most ``limit``
    and at most ``max_bytes`` long together; and whether anything was left out (a line the
    writer was stopped inside counts: it was more than the limits allow)."""
    last = data.rfind(b"\n", start)
    end = last + 1 if last >= 0 else start
    truncated = end < len(data)
    if end - start > max_bytes:
        last = data.rfind(b"\n", start, start + max_bytes)
        end = last + 1 if last >= 0 else start
        truncated = True
    if data.count(b"\n", start, end) > limit:
        end -= len(data[start:end].split(b"\n", limit)[-1])  # the rest after the limit-th line
        truncated = True
    return data[:end], truncated


def select_answer(results: ox.QuerySolutions, fmt: Format, limit: int, max_bytes: int) -> Answer:
    """``results`` in ``fmt`` (a results format), at most ``limit`` rows and ``max_bytes`` of TSV rows."""
    data = _written(results, ox.QueryResultsFormat.TSV, limit + 1, max_bytes)  # +1: the header
    kept, truncated = _cut(data, data.index(b"\n") + 1, limit, max_bytes)
    if fmt is _TSV:
        return Answer.whole(fmt, kept, truncated)
    assert isinstance(fmt.oxigraph, ox.QueryResultsFormat)
    body = ox.parse_query_results(kept, format=ox.QueryResultsFormat.TSV).serialize(format=fmt.oxigraph)
    assert isinstance(body, bytes)
    return Answer.whole(fmt, _keep_carriage_returns(body, fmt), truncated)


def boolean_answer(result: ox.QueryBoolean, fmt: Format) -> Answer:
    assert isinstance(fmt.oxigraph, ox.QueryResultsFormat)
    body = result.serialize(format=fmt.oxigraph)
    assert isinstance(body, bytes)
    return Answer.whole(fmt, body, False)


def graph_answer(results: ox.QueryTriples, fmt: Format, limit: int, max_bytes: int,
                 prefixes: dict[str, str]) -> Answer:
    """``results`` in ``fmt`` (a graph or dataset format), at most ``limit`` triples and
    ``max_bytes`` of N-Triples. Raises NotAcceptable when ``fmt``'s writer cannot write a term
    of the result (JSON-LD and RDF/XML have no RDF 1.2 triple terms)."""
    data = _written(results, ox.RdfFormat.N_TRIPLES, limit, max_bytes)
    kept, truncated = _cut(data, 0, limit, max_bytes)
    if fmt is N_TRIPLES:
        return Answer.whole(fmt, kept, truncated)
    triples = ox.parse(kept, format=ox.RdfFormat.N_TRIPLES)
    try:
        if fmt is JSON_LD:
            # expanded JSON-LD, as the ``@graph`` of one object: the shape of every JSON-LD kazdata sends
            body = b'{"@graph":' + rdf_bytes(triples, ox.RdfFormat.JSON_LD) + b"}\n"
        else:
            body = _keep_carriage_returns(rdf_bytes(triples, fmt.rdf_format,
                                                    prefixes=prefixes if fmt.serializer is not None else None), fmt)
    except (OSError, ValueError):
        others = [f for f in CONSTRUCT_FORMATS if f is not fmt]
        raise NotAcceptable(f"this result cannot be written as {fmt.label}: it holds terms its writer "
                            "does not support (such as RDF 1.2 triple terms or directional language "
                            "strings); ask for " + ", ".join(f.label for f in others),
                            offered=[f.media_type for f in others]) from None
    return Answer.whole(fmt, body, truncated)


def _keep_carriage_returns(body: bytes, fmt: Format) -> bytes:
    """An XML parser turns a literal carriage return into a line feed (XML 1.0 section 2.11), and
    pyoxigraph's XML writers write it as it is; written as a character reference it survives.
    The writers put no carriage return in markup, so every one in the output is in a value."""
    if b"\r" in body and fmt.media_type.endswith("xml"):
        return body.replace(b"\r", b"&#13;")
    return body


def refuse_kind(formats: list[Format], reason: str | None = None) -> NotAcceptable:
    """The 406 for a query whose kind of result (rows, or a graph) the client accepts in no format
    (``reason``, when the web layer gave one, says why)."""
    offered = offered_types(formats)
    return NotAcceptable(reason or not_acceptable(offered), offered=offered)
