"""SPARQL queries against a release: what may run, and running it within limits.

Plain functions and one engine class, no HTTP: the web layer maps the errors raised here
(``BadRequest``, ``Forbidden``, ``QueryTimeout``) to statuses.

Safety model (README "Security"):
- read-only: update operations are refused before anything is parsed or run;
- no outbound requests: pyoxigraph would really call a ``SERVICE`` endpoint, so ``SERVICE`` is
  refused unless its IRI is on the operator's allow-list; ``FROM``/``FROM NAMED`` and the
  protocol's graph parameters may only name graphs of the release (Oxigraph never fetches them,
  but a remote IRI there is a mistake worth a clear message);
- bounded: the query runs in a helper thread while the request waits at most the time limit
  (pyoxigraph releases the GIL while it evaluates); at most ``limit`` rows are kept.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from kazdata.errors import BadRequest, Forbidden, QueryTimeout

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


@dataclass
class SelectResult:
    variables: list[str]
    rows: list[ox.QuerySolution]
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
    on_runaway: Callable[[], None] = field(default=lambda: None)


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
    """Raise Forbidden for ``SERVICE`` to anything but an allow-listed endpoint IRI, and
    BadRequest for ``FROM``/``FROM NAMED`` naming a graph that the release does not have."""
    allowed = set(allowlist)
    code, iris = _masked(text)
    for match in _SERVICE.finditer(code):
        target = match.group(1)
        iri = iris[int(target[1:-1])] if re.fullmatch(r"<\d+>", target) else None
        if iri is None or iri not in allowed:
            shown = f"<{iri}>" if iri is not None else target
            raise Forbidden(f"SERVICE {shown} refused: this endpoint does not call other endpoints "
                            "(federation is off unless the operator allow-lists an endpoint)")
    known = set(graphs)
    for match in _FROM.finditer(code):
        graph = iris[int(match.group(2))]
        if graph not in known:
            raise BadRequest(f"FROM {'NAMED ' if match.group(1) else ''}<{graph}>: no such graph "
                             "here, and this endpoint never fetches remote data; graphs: "
                             + ", ".join(sorted(known)))


class Engine:
    """Runs read-only SPARQL on a pyoxigraph store under a ``Policy``.

    ``query`` raises BadRequest (syntax, with line and column), Forbidden (update, SERVICE)
    or QueryTimeout; it returns at most ``policy.limit`` rows or triples, flagged when cut.
    """

    def __init__(self, store: ox.Store, prefixes: dict[str, str], policy: Policy) -> None:
        self.store = store
        self.prefixes = prefixes
        self.policy = policy
        self.graphs = tuple(sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)))

    def check(self, request: QueryRequest) -> None:
        refuse_updates(request.text)
        refuse_remote_access(request.text, self.graphs, self.policy.service_allowlist)
        for graph in (*request.default_graphs, *request.named_graphs):
            if graph not in self.graphs:
                raise BadRequest(f"graph <{graph}> is not in this dataset; graphs: " + ", ".join(self.graphs))

    @staticmethod
    def _dataset(request: QueryRequest) -> dict:
        """The graphs a query sees: the protocol's parameters, else its FROM, else the union."""
        if request.default_graphs or request.named_graphs:
            options: dict = {"default_graph": [ox.NamedNode(g) for g in request.default_graphs] or [ox.DefaultGraph()]}
            if request.named_graphs:
                options["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
            return options
        if _FROM.search(_masked(request.text)[0]):
            return {}  # Oxigraph builds the dataset from the query's FROM / FROM NAMED
        return {"use_default_graph_as_union": True}

    def _evaluate(self, request: QueryRequest, limit: int) -> QueryResult:
        options: dict = {"prefixes": self.prefixes, **self._dataset(request)}
        try:
            results = self.store.query(request.text, **options)
        except SyntaxError as error:
            raise BadRequest(f"malformed query: {error}") from None
        if isinstance(results, ox.QueryBoolean):
            return AskResult(bool(results))
        if isinstance(results, ox.QuerySolutions):
            variables = [v.value for v in results.variables]
            rows = _take(results, limit + 1)
            return SelectResult(variables, rows[:limit], len(rows) > limit)
        triples = _take(results, limit + 1)
        return GraphResult(triples[:limit], len(triples) > limit)

    def query(self, request: QueryRequest, timeout: float | None = None) -> QueryResult:
        self.check(request)
        timeout = min(timeout or self.policy.timeout, self.policy.timeout)
        outcome: dict = {}

        def run() -> None:
            _lower_priority()
            try:
                outcome["result"] = self._evaluate(request, self.policy.limit)
            except (BadRequest, OSError, ValueError, RuntimeError) as error:
                # keep no traceback: its frames hold pyoxigraph objects that must die on this thread
                outcome["error"] = error.with_traceback(None)

        started = time.monotonic()
        worker = threading.Thread(target=run, name="sparql-query", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            self._watch(worker, self.policy.timeout - (time.monotonic() - started))
            raise QueryTimeout(f"the query ran longer than the {timeout:g} s limit and was stopped; "
                               "narrow it (LIMIT, more specific patterns) or ask for less")
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, BadRequest):
                raise error
            raise BadRequest(f"the query failed: {error}") from None
        return outcome["result"]


    def _watch(self, worker: threading.Thread, remaining: float) -> None:
        """End the process (``policy.on_runaway``) only if the query outlives the operator's limit.

        A client that asked for a shorter timeout gets its answer at once, but cannot make the
        server replace a worker by asking for a tiny one: the query keeps the operator's budget.
        """
        if remaining <= 0:
            self.policy.on_runaway()
            return

        def watch() -> None:
            worker.join(remaining)
            if worker.is_alive():
                self.policy.on_runaway()

        threading.Thread(target=watch, name="sparql-watchdog", daemon=True).start()


#: How much lower than request handling a query thread runs (Linux ``nice`` is per thread).
#: Measured with bench/load.py: 19 was worse than 10, because a starved query thread that holds
#: the GIL for a moment (result conversion) then holds up the request threads.
QUERY_NICENESS = 10


def _lower_priority() -> None:
    """Let dereferencing and cheap requests win the CPU from long queries.

    On Linux a thread has its own nice value, so the query thread can lower its own priority
    without privileges; elsewhere this does nothing.
    """
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), QUERY_NICENESS)
        except OSError:
            pass


def _take(iterator, count: int) -> list:
    items = []
    for item in iterator:
        items.append(item)
        if len(items) >= count:
            break
    return items
