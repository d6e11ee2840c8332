"""SPARQL queries against a release: what may run, and running it within limits.

Plain functions and one engine class, no HTTP: the web layer maps the errors raised here
(``BadRequest``, ``Forbidden``, ``QueryTimeout``) to statuses.

Safety model (README "Security"):
- read-only: update operations are refused before anything is parsed or run;
- no outbound requests: pyoxigraph would really call a ``SERVICE`` endpoint, so ``SERVICE`` is
  refused unless its IRI is on the operator's allow-list. ``FROM``/``FROM NAMED`` and the
  protocol's graph parameters only ever name graphs of the store, which no backend fetches: a
  graph the release lacks is an empty graph, as the SPARQL 1.1 Protocol tests, Oxigraph and
  Fuseki have it, not an error;
- bounded: the backend stops waiting at the time limit and keeps at most ``limit`` rows; how it
  frees the CPU of a runaway query is the backend's business (``kazdata.sparql.backends``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox

from kazdata.errors import Forbidden

UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")

# Strings, IRIs and comments are removed before looking for keywords, so that a literal
# containing the word SERVICE or an IRI ending in /load does not trigger a refusal.
_LEXICAL_NOISE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|' r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n]|\\.)*"|' r"'(?:[^'\\\n]|\\.)*'|"
    r"<[^<>\"{}|^`\\\s]*>|#[^\n]*", re.S)
_FROM = re.compile(r"(?<![\w:?$])FROM(?![\w:])\s*(NAMED(?![\w:])\s*)?<(\d+)>", re.I)
_SERVICE = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])\s*(?:SILENT(?![\w:])\s*)?(<\d+>|[^\s{]+)", re.I)


def _keywords_only(text: str) -> str:
    return _LEXICAL_NOISE.sub(lambda m: " " if not m.group(0).startswith("<") else " <> ", text)


_PROLOGUE = re.compile(r"^\s*(?:(?:PREFIX\s+[\w.-]*:\s*<>|BASE\s+<>)\s*)*", re.I)


@dataclass(frozen=True)
class QueryRequest:
    """A query as the protocol delivered it, with the dataset it asks for."""

    text: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    #: what relative IRIs in the query resolve against (a ``BASE`` in the query still wins): the
    #: endpoint's URL, as the protocol's tests expect
    base_iri: str | None = None


#: One solution: variable name -> term, or None where the variable is unbound. Plain dicts,
#: because pyoxigraph's QuerySolution cannot be pickled across to the web process.
Row = Mapping[str, "ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None"]


@dataclass
class SelectResult:
    variables: list[str]
    rows: Sequence[Row]
    truncated: bool


@dataclass
class AskResult:
    value: bool
    truncated: bool = False


@dataclass
class GraphResult:
    triples: list[ox.Triple]
    truncated: bool


QueryResult = SelectResult | AskResult | GraphResult


@dataclass
class Policy:
    """Operator limits (from the settings) that every query runs under."""

    timeout: float = 10.0
    limit: int = 10000
    service_allowlist: tuple[str, ...] = ()


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape(text: str) -> str:
    """SPARQL resolves \\u and \\U escapes before parsing, anywhere in the query (SPARQL 1.1
    section 19.2), and so does Oxigraph: SERV\\u0049CE is SERVICE. Check what will be parsed."""
    return _CODEPOINT.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _masked(text: str) -> tuple[str, list[str]]:
    """The query with strings and comments blanked and each IRI replaced by ``<N>``, its index
    in the returned list: keywords are then found only outside IRIs (``<http://x/service>``)."""
    iris: list[str] = []

    def mask(match: re.Match) -> str:
        token = match.group(0)
        if not token.startswith("<"):
            return " "
        iris.append(token[1:-1])
        return f"<{len(iris) - 1}>"
    return _LEXICAL_NOISE.sub(mask, _unescape(text)), iris


def refuse_updates(text: str) -> None:
    """Raise Forbidden if ``text`` is a SPARQL Update request (read-only endpoint)."""
    body = _PROLOGUE.sub("", _keywords_only(_unescape(text)), count=1)
    first = body.lstrip().split(None, 1)[0].upper() if body.strip() else ""
    if first in UPDATE_KEYWORDS:
        raise Forbidden(f"SPARQL Update ({first}) is not allowed: this endpoint is read-only")


def refuse_remote_access(text: str, graphs: Iterable[str], allowlist: Iterable[str]) -> None:
    """Raise Forbidden for ``SERVICE`` to anything but an allow-listed endpoint IRI. (``graphs``
    is kept for callers; ``FROM`` is never refused: see the module's docstring.)"""
    allowed = set(allowlist)
    code, iris = _masked(text)
    for match in _SERVICE.finditer(code):
        target = match.group(1)
        iri = iris[int(target[1:-1])] if re.fullmatch(r"<\d+>", target) else None
        if iri is None or iri not in allowed:
            shown = f"<{iri}>" if iri is not None else target
            raise Forbidden(f"SERVICE {shown} refused: this endpoint does not call other endpoints "
                            "(federation is off unless the operator allow-lists an endpoint)")


class Backend(Protocol):
    """Where a query is evaluated (``kazdata.sparql.backends``): in this process, in a query process,
    or on a remote SPARQL endpoint. ``query`` raises BadRequest, QueryTimeout or
    BackendUnavailable and returns at most ``limit`` rows or triples, flagged when cut."""

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult: ...


class Engine:
    """Runs read-only SPARQL under a ``Policy`` on a backend.

    What may run is decided here, before any backend sees the query: updates, ``SERVICE`` and
    graphs outside the release are refused the same way whichever backend evaluates it.
    """

    def __init__(self, backend: Backend, graphs: Iterable[str], policy: Policy) -> None:
        self.backend = backend
        self.graphs = tuple(sorted(graphs))
        self.policy = policy

    def check(self, request: QueryRequest) -> None:
        refuse_updates(request.text)
        refuse_remote_access(request.text, self.graphs, self.policy.service_allowlist)

    def query(self, request: QueryRequest, timeout: float | None = None) -> QueryResult:
        """Check, then evaluate within ``min(timeout, policy.timeout)`` seconds.

        A client may ask for less time than the operator allows, but the backend keeps the
        operator's budget for stopping the query: a tiny client timeout cannot make the server
        kill and replace query processes.
        """
        self.check(request)
        return self.backend.query(request, limit=self.policy.limit,
                                  timeout=min(timeout or self.policy.timeout, self.policy.timeout))


def uses_from(text: str) -> bool:
    """True if the query names its own dataset with ``FROM`` / ``FROM NAMED``."""
    return bool(_FROM.search(_masked(text)[0]))


def timeout_message(seconds: float) -> str:
    return (f"the query ran longer than the {seconds:g} s limit and was stopped; "
            "narrow it (LIMIT, more specific patterns) or ask for less")
