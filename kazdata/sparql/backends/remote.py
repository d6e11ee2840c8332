"""A remote SPARQL 1.1 store as the backend (``kazdata.sparql.backends.graph_store`` loads one).

With ``--backend remote --endpoint URL`` the web tier holds no triples: queries go to any
standard store (Oxigraph server, Apache Jena Fuseki, Virtuoso, QLever, GraphDB) over the SPARQL
1.1 Protocol with SPARQLWrapper, and ``kazdata load`` puts a release there with the SPARQL 1.1
Graph Store HTTP Protocol. The web workers can then run on as many hosts as traffic needs.

Portability choices:
- kazdata's default graph is the union of the release's graphs. Stores disagree on how to get
  that (Oxigraph ``--union-default-graph``, Fuseki ``unionDefaultGraph``), so a query that names
  no dataset is sent with every graph of the release as a ``default-graph-uri`` and, so that
  ``GRAPH`` reaches them and nothing else, as a ``named-graph-uri``: the protocol's own way,
  which every store implements;
- the endpoint's predeclared prefixes are written into the query, since the remote store does not
  know them; results come back as SPARQL JSON or N-Triples and are parsed by pyoxigraph, so the
  writers see the same terms whichever backend answered;
- the time limit is the HTTP timeout. A store keeps evaluating a query its client gave up on
  unless it enforces its own limit: configure one there (Fuseki ``arq:queryTimeout``, Oxigraph
  ``--timeout-s``). Refusals (updates, SERVICE, foreign graphs) happen here first, on rdflib's
  parse of the query (``kazdata.sparql.query_check``). With no query process to run it in,
  that parse runs in the web worker, so queries sent to a remote store are bounded to
  ``REMOTE_QUERY_CHARACTERS`` (the parse costs tens of microseconds a byte).
"""

from __future__ import annotations

import http.client
import io
import logging
import time
import urllib.error

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    QueryBadFormed,
    SPARQLWrapperException,
    URITooLong,
)

from kazdata.errors import BackendUnavailable, BadRequest, QueryTimeout
from kazdata.sparql.backends.embedded import RESULT_BYTES, row_bytes, take_bounded, triple_bytes
from kazdata.sparql.backends.graph_store import LOADING_GRAPH
from kazdata.sparql.backends.literal_forms import mend_term, mend_triple
from kazdata.sparql.policy import (
    AskResult,
    GraphResult,
    QueryRequest,
    QueryResult,
    SelectResult,
    timeout_message,
)
from kazdata.sparql.query_check import CheckedQuery, QueryRules

log = logging.getLogger("kazdata.query")
_GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
#: Virtuoso answers a query stopped by its own time limit (``MaxQueryExecutionTime``) with
#: ``200`` and the rows found so far, flagged only by this header and state: taken as complete,
#: a COUNT would be wrong, so kazdata answers it as the time-out it is (decision 019).
INCOMPLETE_HEADER, INCOMPLETE_STATE = "X-SQL-State", "S1TAT"
#: How a store's 500 says that its own time limit stopped the query (Virtuoso's
#: ``MaxQueryExecutionTime``: "Virtuoso S1T00 Error SR171: Transaction timed out"): a 503 for the
#: time limit, as kazdata's own, not one for a broken store.
STORE_TIME_OUTS = ("Virtuoso S1T00 Error",)
#: The longest query checked and sent to a remote store: its check runs in the web worker.
REMOTE_QUERY_CHARACTERS = 32_768
#: How long a backend told the store's default graph is the union keeps its last look at
#: whether a staged load is under way (``graph_store.LOADING_GRAPH``): one ASK a second at most.
LOADING_CHECK_S = 1.0
_LOADING = f"ASK {{ GRAPH <{LOADING_GRAPH}> {{ ?s ?p ?o }} }}"


class RemoteBackend:
    """Evaluates on a SPARQL 1.1 Protocol endpoint (``endpoint`` is its query URL)."""

    def __init__(self, endpoint: str, graphs: list[str], prefixes: dict[str, str],
                 service_allowlist: tuple[str, ...] = (), result_bytes: int = RESULT_BYTES, *,
                 union_default_graph: bool = False) -> None:
        self.endpoint = endpoint
        self.union_default_graph = union_default_graph
        self.result_bytes = result_bytes
        self.graphs = list(graphs)
        self.rules = QueryRules(dict(prefixes), tuple(service_allowlist))
        self.prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in sorted(prefixes.items()))
        self._loading_seen: tuple[float, bool] = (-LOADING_CHECK_S, False)  # (when looked, whether loading)

    def _store_union(self) -> bool:
        """Whether a query naming no dataset may go as it is: the store's default graph is the
        union (the setting) and no staged load has its staging graphs in it (``LOADING_GRAPH``,
        looked at once a ``LOADING_CHECK_S`` at most; a look that fails keeps the last answer)."""
        if not self.union_default_graph:
            return False
        looked, loading = self._loading_seen
        now = time.monotonic()
        if now - looked >= LOADING_CHECK_S:
            client = SPARQLWrapper(self.endpoint, agent="kazdata")
            client.setMethod(POST)
            client.setTimeout(2)
            client.setQuery(_LOADING)
            client.setReturnFormat(JSON)
            try:
                answer = client.query().convert()
                was, loading = loading, bool(answer.get("boolean")) if isinstance(answer, dict) else loading
                if loading and not was:
                    log.warning("a staged load is under way in %s: its graphs are asked for by name until "
                                "<%s> is gone", self.endpoint, LOADING_GRAPH)
            except (SPARQLWrapperException, OSError, http.client.HTTPException, ValueError):
                pass
            self._loading_seen = (now, loading)
        return not loading

    def _client(self, request: QueryRequest, checked: CheckedQuery, timeout: float) -> SPARQLWrapper:
        client = SPARQLWrapper(self.endpoint, agent="kazdata")
        client.setMethod(POST)
        client.setTimeout(max(1, int(timeout + 0.999)))
        base = f"BASE <{request.base_iri}>\n" if request.base_iri else ""  # the store's own URL is not ours
        client.setQuery(base + self.prologue + request.text)
        defaults, named = list(request.default_graphs), list(request.named_graphs)
        if not (request.default_graphs or request.named_graphs or checked.uses_from or self._store_union()):
            # the release's dataset, asked for the portable way: its graphs as the default graph
            # and, for GRAPH, as the named graphs (named with default-graph-uri alone, Oxigraph
            # has none and Virtuoso has its own system graphs too; decision 019)
            defaults = named = self.graphs
        for graph in defaults:
            client.addDefaultGraph(graph)
        for graph in named:
            client.addNamedGraph(graph)
        client.setReturnFormat(TURTLE if client.queryType in _GRAPH_FORMS else JSON)
        return client

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult:
        """Ask the store; raises BadRequest when it refuses the query (its 400, 413 or 414),
        QueryTimeout past ``timeout``, and BackendUnavailable for anything else the store or the
        network does. Client-facing messages never name the endpoint nor repeat a store's error
        page (a Java stack trace from Fuseki, say): those details are logged for the operator.
        """
        if len(request.text) > REMOTE_QUERY_CHARACTERS:
            raise BadRequest(f"the query is {len(request.text)} characters long; this endpoint sends at most "
                             f"{REMOTE_QUERY_CHARACTERS} to its store")
        client = self._client(request, self.rules.check(request.text), timeout)
        deadline = time.monotonic() + timeout
        try:
            response = client.query().response
        except TimeoutError:
            raise QueryTimeout(timeout_message(timeout)) from None
        except QueryBadFormed as error:  # the store's 400, with its parser's message
            raise BadRequest(f"the query was refused by the store: {str(error)[:2000]}") from None
        except URITooLong:
            raise BadRequest("the query was refused by the store: it is too long") from None
        except urllib.error.HTTPError as error:  # the statuses SPARQLWrapper does not wrap
            if error.code == 413:
                raise BadRequest("the query was refused by the store: it is too large") from None
            raise self._unavailable(f"HTTP {error.code}: {_excerpt(error)}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):  # socket.timeout is an alias of TimeoutError
                raise QueryTimeout(timeout_message(timeout)) from None
            raise self._unavailable(str(error.reason)) from None
        except EndPointInternalError as error:
            if any(sign in str(error) for sign in STORE_TIME_OUTS):
                raise QueryTimeout(timeout_message(timeout)) from None
            raise self._unavailable(repr(error)) from None
        except (SPARQLWrapperException, OSError, http.client.HTTPException) as error:
            raise self._unavailable(repr(error)) from None
        if response.headers.get(INCOMPLETE_HEADER, "").strip().upper() == INCOMPLETE_STATE:
            response.close()  # Virtuoso's "anytime" answer: what it found before its own limit
            raise QueryTimeout(timeout_message(timeout))
        try:
            with response:
                return _read_results(_Deadline(response, deadline), client.queryType in _GRAPH_FORMS, limit,
                                     self.result_bytes)
        except TimeoutError:
            raise QueryTimeout(timeout_message(timeout)) from None
        except (SyntaxError, ValueError) as error:
            raise self._unavailable(f"unreadable answer: {error}") from None
        except (OSError, http.client.HTTPException) as error:
            raise self._unavailable(f"the answer broke off: {error!r}") from None

    def _unavailable(self, detail: str) -> BackendUnavailable:
        log.error("SPARQL store %s cannot answer: %s", self.endpoint, detail)
        return BackendUnavailable("the SPARQL store cannot answer at the moment (the error was logged); "
                                  "try again later")


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(2000).decode("utf-8", "replace").strip() or str(error.reason)
    except (OSError, http.client.HTTPException):
        return str(error.reason)


class _Deadline(io.RawIOBase):
    """The store's answer, read in chunks that each check the query's deadline: the socket
    timeout bounds one read only, and a store that trickles bytes would hold the worker for ever."""

    def __init__(self, response, deadline: float) -> None:
        self.response = response
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if time.monotonic() > self.deadline:
            raise TimeoutError("the answer took longer than the time limit")
        data = self.response.read1(min(len(buffer), 1 << 16))  # what has arrived, not a full buffer
        buffer[:len(data)] = data
        return len(data)


def _read_results(answer: io.RawIOBase, graph: bool, limit: int, max_bytes: int) -> QueryResult:
    """Parse the answer as it streams in, reading no further than ``limit`` + 1 rows or
    triples, or past ``max_bytes`` of terms: a store asked for everything may send gigabytes,
    and the limits hold before it is all in memory. (pyoxigraph reads any binary file object; its stubs name ``typing.IO`` only,
    which the ``io`` classes do not derive from.)"""
    if graph:
        parsed = ox.parse(answer, format=ox.RdfFormat.TURTLE)  # type: ignore[arg-type]
        triples, cut = take_bounded(map(mend_triple, parsed), limit, max_bytes, triple_bytes)
        return GraphResult(triples, cut)
    results = ox.parse_query_results(answer, format=ox.QueryResultsFormat.JSON)  # type: ignore[arg-type]
    if isinstance(results, ox.QueryBoolean):
        return AskResult(bool(results))
    variables = [v.value for v in results.variables]
    rows, cut = take_bounded(({name: mend_term(row[name]) for name in variables} for row in results), limit,
                             max_bytes, row_bytes)
    return SelectResult(variables, rows, cut)

