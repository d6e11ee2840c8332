"""A remote SPARQL 1.1 store as the backend, and pushing a release into one.

With ``--backend remote --endpoint URL`` the web tier holds no triples: queries go to any
standard store (Oxigraph server, Apache Jena Fuseki, Virtuoso, QLever, GraphDB) over the SPARQL
1.1 Protocol with SPARQLWrapper, and ``kazdata load`` puts a release there with the SPARQL 1.1
Graph Store HTTP Protocol. The web workers can then run on as many hosts as traffic needs.

Portability choices:
- kazdata's default graph is the union of the release's graphs. Stores disagree on how to get
  that (Oxigraph ``--union-default-graph``, Fuseki ``unionDefaultGraph``), so a query that names
  no dataset is sent with every graph of the release as a ``default-graph-uri``: the protocol's
  own way, which every store implements;
- the endpoint's predeclared prefixes are written into the query, since the remote store does not
  know them; results come back as SPARQL JSON or N-Triples and are parsed by pyoxigraph, so the
  writers see the same terms whichever backend answered;
- the time limit is the HTTP timeout. A store keeps evaluating a query its client gave up on
  unless it enforces its own limit: configure one there (Fuseki ``arq:queryTimeout``, Oxigraph
  ``--timeout`` in later versions). Refusals (updates, SERVICE, foreign graphs) happen here first.
"""

from __future__ import annotations

import socket
import urllib.error
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper

from kazdata.errors import BackendUnavailable, BadRequest, QueryTimeout
from kazdata.query import AskResult, GraphResult, QueryRequest, QueryResult, SelectResult, timeout_message, uses_from

_GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")


class RemoteBackend:
    """Evaluates on a SPARQL 1.1 Protocol endpoint (``endpoint`` is its query URL)."""

    def __init__(self, endpoint: str, graphs: list[str], prefixes: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.graphs = list(graphs)
        self.prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in sorted(prefixes.items()))

    def _client(self, request: QueryRequest, timeout: float) -> SPARQLWrapper:
        client = SPARQLWrapper(self.endpoint, agent="kazdata")
        client.setMethod(POST)
        client.setTimeout(max(1, int(timeout + 0.999)))
        client.setQuery(self.prologue + request.text)
        defaults = list(request.default_graphs)
        if not (request.default_graphs or request.named_graphs or uses_from(request.text)):
            defaults = self.graphs  # the union, asked for the portable way
        for graph in defaults:
            client.addDefaultGraph(graph)
        for graph in request.named_graphs:
            client.addNamedGraph(graph)
        client.setReturnFormat(TURTLE if client.queryType in _GRAPH_FORMS else JSON)
        return client

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> QueryResult:
        client = self._client(request, timeout)
        try:
            response = client.query().response
            body = response.read()
        except (socket.timeout, TimeoutError):
            raise QueryTimeout(timeout_message(timeout)) from None
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:2000].strip()
            if 400 <= error.code < 500:
                raise BadRequest(f"the query was refused by the store: {detail or error.reason}") from None
            raise BackendUnavailable(f"the SPARQL store answered {error.code}: {detail or error.reason}") from None
        except Exception as error:  # SPARQLWrapper wraps HTTP errors in its own exception types
            reason = getattr(error, "reason", None)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise QueryTimeout(timeout_message(timeout)) from None
            message = str(error)
            if type(error).__module__.startswith("SPARQLWrapper") and "QueryBadFormed" in type(error).__name__:
                raise BadRequest(f"the query was refused by the store: {message}") from None
            raise BackendUnavailable(f"the SPARQL store at {self.endpoint} cannot answer: {message}") from None
        if client.queryType in _GRAPH_FORMS:
            triples = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
            return GraphResult(triples[:limit], len(triples) > limit)
        results = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        if isinstance(results, ox.QueryBoolean):
            return AskResult(bool(results))
        variables = [v.value for v in results.variables]
        rows = []
        for row in results:
            rows.append({name: row[name] for name in variables})
            if len(rows) > limit:
                break
        return SelectResult(variables, rows[:limit], len(rows) > limit)


def load_release(release_dir: Path, store_url: str, *, timeout: float = 600) -> list[tuple[str, int]]:
    """PUT every graph of the release into the Graph Store at ``store_url`` (replacing it).

    Returns (graph IRI, triple count) per graph. Raises BackendUnavailable naming the graph and
    the store's answer when a PUT fails. Uses ``requests``-free urllib so a server-only install
    can load a store.
    """
    import urllib.request

    graphs: dict[str, list[ox.Quad]] = {}
    for quad in ox.parse(path=str(Path(release_dir) / "dumps" / "kazdata.nq"), format=ox.RdfFormat.N_QUADS):
        graphs.setdefault(quad.graph_name.value, []).append(quad)
    loaded = []
    for graph, quads in sorted(graphs.items()):
        body = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads],
                            format=ox.RdfFormat.N_TRIPLES)
        separator = "&" if "?" in store_url else "?"
        put = urllib.request.Request(f"{store_url}{separator}graph={quote(graph, safe='')}", data=body,
                                     method="PUT", headers={"Content-Type": "application/n-triples"})
        try:
            with urllib.request.urlopen(put, timeout=timeout) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            raise BackendUnavailable(f"PUT of graph <{graph}> to {store_url} failed: {error.code} "
                                     f"{error.read().decode('utf-8', 'replace')[:500]}") from None
        except OSError as error:
            raise BackendUnavailable(f"cannot reach the graph store {store_url}: {error}") from None
        loaded.append((graph, len(quads)))
    return loaded
