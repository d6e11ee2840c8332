"""SPARQL queries against a release: what may run, and running it within limits.

Plain functions and one engine class, no HTTP: the web layer maps the errors raised here
(``BadRequest``, ``Forbidden``, ``QueryTimeout``) to statuses.

Safety model (README "Security"):
- read-only and no outbound requests: decided on rdflib's parse of the query where it is
  evaluated (``kazdata.sparql.query_check``): updates are refused, ``SERVICE`` only to the
  operator's allow-list; query processes have no network at all besides
  (``kazdata.runtime.isolation``). ``FROM``/``FROM NAMED`` and the protocol's graph parameters
  only ever name graphs of the store, which no backend fetches: a graph the release lacks is an
  empty graph, as the SPARQL 1.1 Protocol tests, Oxigraph and Fuseki have it, not an error;
- bounded: the backend stops waiting at the time limit and keeps at most ``limit`` rows; how it
  frees the CPU of a runaway query is the backend's business (``kazdata.sparql.backends``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pyoxigraph as ox

if TYPE_CHECKING:
    from kazdata.sparql.answers import Answer


@dataclass(frozen=True)
class QueryRequest:
    """A query as the protocol delivered it, with the dataset it asks for."""

    text: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    #: what relative IRIs in the query resolve against (a ``BASE`` in the query still wins): the
    #: endpoint's URL, as the protocol's tests expect
    base_iri: str | None = None
    #: the extensions of the formats the client takes a SELECT/ASK answer in (``RESULT_FORMATS``)
    #: and a CONSTRUCT/DESCRIBE answer in (``kazdata.sparql.answers.CONSTRUCT_FORMATS``), as the web
    #: layer negotiated them before the query ran; None where it takes none (a 406 once the
    #: query's kind is known). Embedded stores answer in these (``kazdata.sparql.answers``); a
    #: remote store's answer is written by the web layer.
    results_format: str | None = "srj"
    graph_format: str | None = "ttl"
    #: why the client takes that kind of answer in no format, where the web layer knows better
    #: than "none is offered" (``format=csv`` on a CONSTRUCT names CSV: decision 021)
    results_refusal: str | None = None
    graph_refusal: str | None = None
    #: whether the text uses FROM, when a query process already checked this very text under the
    #: same rules (``kazdata.runtime.query_client`` remembers verdicts per served release): the
    #: check is skipped; None: check it
    checked_uses_from: bool | None = None
    #: the client's address, as the HTTP server saw it: what the query supervisor counts a
    #: client's queries by (``--queries-per-client``, ``kazdata.sparql.fair_share``)
    client: str = ""


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


class Backend(Protocol):
    """Where a query is evaluated (``kazdata.sparql.backends``): in this process, in a query process,
    or on a remote SPARQL endpoint. ``query`` raises BadRequest, QueryTimeout or
    BackendUnavailable and returns at most ``limit`` rows or triples, flagged when cut: as
    bytes already written in the request's format (an ``Answer``, the embedded stores), or as
    terms for the web layer to write (a remote store)."""

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult | Answer: ...


class Engine:
    """Runs read-only SPARQL under a ``Policy`` on a backend.

    Nothing is checked here: every backend checks the query text where it evaluates it
    (``kazdata.sparql.query_check``: in the query process, under the time limit), and the
    protocol's graph parameters need no check (a graph the release lacks is an empty graph,
    never fetched).
    """

    def __init__(self, backend: Backend, policy: Policy) -> None:
        self.backend = backend
        self.policy = policy

    def query(self, request: QueryRequest, timeout: float | None = None) -> QueryResult | Answer:
        """Evaluate within ``min(timeout, policy.timeout)`` seconds.

        A client may ask for less time than the operator allows, but the backend keeps the
        operator's budget for stopping the query: a tiny client timeout cannot make the server
        kill and replace query processes.
        """
        return self.backend.query(request, limit=self.policy.limit,
                                  timeout=min(timeout or self.policy.timeout, self.policy.timeout))


def timeout_message(seconds: float) -> str:
    return (f"the query ran longer than the {seconds:g} s limit and was stopped; "
            "narrow it (LIMIT, more specific patterns) or ask for less")
