"""Putting a release into a remote store: ``kazdata load``.

Each named graph goes in with one SPARQL 1.1 Graph Store Protocol ``PUT`` of its
``graphs/{name}.nt`` file (the build writes one per graph; a graph without one is cut from the
N-Quads dump), so any store that speaks the protocol can be loaded, and the bytes sent are the
release's own. Stores guard writes with HTTP authentication (Virtuoso's
``/sparql-graph-crud-auth`` with Digest, Fuseki or GraphDB behind Basic): the user and password
come from a file (``--store-credentials``), never a command line, where ``ps`` and shell
histories would show them.

**A failed load leaves the previous graphs intact** when the store has a SPARQL 1.1 Update
endpoint (``--update-endpoint``): every graph is first put under a staging name
(``urn:kazdata:load:{token}:{n}``), and only when all of them are in is each ``MOVE``d onto its
real name, one update request per graph. One request for them all would make Oxigraph's switch
atomic, but at 10^6 triples that one transaction held Oxigraph for over nine minutes and 4 GB
(decision 019), so the switch is graph by graph: seconds in which a query may see some graphs
of each release. A failure before the switch drops the staging graphs and changes nothing
served. Without an update endpoint each graph is replaced in place, one by one, and a failure
part-way leaves a mix (the command says so).

**Staging graphs are in a union default graph.** A store whose default graph is the union of its
graphs (Oxigraph ``--union-default-graph``, Virtuoso) shows the staging graphs in it beside the
served ones, every triple twice, for the load's minutes. So a staged load first puts the graph
``LOADING_GRAPH``, naming every staging graph, and waits ``LOADING_SEEN_S`` for the sparql tier
to notice it: a ``RemoteBackend`` told the store's default graph is the union
(``--union-default-graph true``) asks for the release's graphs by name while that graph exists.
It is dropped with the staging graphs, after the switch or after a failure; when even that drop
fails (the store died), it stays, the sparql tier keeps asking by name, and the next load drops
the staging graphs it lists first.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from kazdata.errors import BackendUnavailable, KazdataError
from kazdata.formats import rdf_bytes
from kazdata.release.opened import NAMED_GRAPHS, Release

#: The graph that exists while staging graphs do (module docstring), and its predicate naming each.
LOADING_GRAPH = "urn:kazdata:load:in-progress"
STAGING = "urn:kazdata:load:staging"
#: How long a load waits after putting LOADING_GRAPH before staging: twice the time a
#: ``RemoteBackend`` keeps its last look at it (``kazdata.sparql.backends.remote.LOADING_CHECK_S``).
LOADING_SEEN_S = 2.0


class CredentialsError(KazdataError):
    """A credentials file that cannot be used: missing, or not ``USER:PASSWORD``."""


@dataclass(frozen=True)
class GraphStore:
    """Where and how to write: the Graph Store Protocol URL, the optional SPARQL Update URL (for
    a load that switches at the end), and the optional (user, password)."""

    url: str
    update_url: str | None = None
    credentials: tuple[str, str] | None = None

    def opener(self) -> urllib.request.OpenerDirector:
        """An opener answering Digest and Basic challenges with the credentials (urllib picks
        the scheme the store's ``401`` asks for), and signing with Digest up front once
        challenged (``_SigningDigest``)."""
        if not self.credentials:
            return urllib.request.build_opener()
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        for url in filter(None, (self.url, self.update_url)):
            passwords.add_password(None, url, *self.credentials)
        return urllib.request.build_opener(_SigningDigest(passwords), urllib.request.HTTPBasicAuthHandler(passwords))


class _SigningDigest(urllib.request.HTTPDigestAuthHandler):
    """Digest authentication that, once a store has challenged, signs every later request
    before sending it. Virtuoso answers an unsigned PUT with its ``401`` at once and resets the
    connection while a graph of megabytes is still being sent (seen at 44,000 triples), so urllib's
    answer-the-challenge-then-resend never gets there; ``load_release`` draws the challenge
    with a bodiless request first."""

    challenge: dict[str, str] | None = None

    def retry_http_digest_auth(self, req, auth):
        _scheme, _, fields = auth.partition(" ")
        self.challenge = urllib.request.parse_keqv_list([f for f in urllib.request.parse_http_list(fields) if f])
        return super().retry_http_digest_auth(req, auth)

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if self.challenge and not req.has_header("Authorization"):
            signed = self.get_authorization(req, self.challenge)
            if signed:
                req.add_unredirected_header("Authorization", f"Digest {signed}")
        return req

    https_request = http_request


def read_credentials(path: Path) -> tuple[str, str]:
    """``(user, password)`` from the first line of ``path``, written ``USER:PASSWORD``.

    Raises CredentialsError naming the file (never its content) when it cannot be read or has
    no colon.
    """
    try:
        line = Path(path).read_text(encoding="utf-8").splitlines()[0].strip() if Path(path).stat().st_size else ""
    except OSError as error:
        raise CredentialsError(f"cannot read the store credentials file {path}: {error.strerror}") from None
    user, colon, password = line.partition(":")
    if not colon or not user:
        raise CredentialsError(f"the store credentials file {path} must hold USER:PASSWORD on its first line")
    return user, password


@dataclass(frozen=True)
class LoadedGraph:
    """One graph put into the store: its IRI, its triples, the seconds its PUT took."""

    graph: str
    triples: int
    seconds: float


def graph_payloads(release: Release) -> Iterator[tuple[str, bytes]]:
    """(graph IRI, its N-Triples) for every graph of the release, from ``graphs/{name}.nt``;
    graphs without a file of their own are cut from the N-Quads dump, read once."""
    prefix = release.base + "graph/"
    folder = release.directory / NAMED_GRAPHS
    missing = []
    for graph in sorted(release.graphs):
        path = folder / f"{graph[len(prefix):]}.nt"
        if graph.startswith(prefix) and path.is_file():
            yield graph, path.read_bytes()
        else:
            missing.append(graph)
    if missing:
        wanted: dict[str, list[ox.Triple]] = {graph: [] for graph in missing}
        dump = release.directory / "dumps" / "kazdata.nq"
        for quad in ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS):
            if quad.graph_name.value in wanted:
                wanted[quad.graph_name.value].append(ox.Triple(quad.subject, quad.predicate, quad.object))
        for graph in missing:
            yield graph, rdf_bytes(wanted[graph], ox.RdfFormat.N_TRIPLES)


def load_release(release: Release, store: GraphStore, *, timeout: float = 3600,
                 progress: Callable[[LoadedGraph], None] = lambda loaded: None,
                 wait: float = LOADING_SEEN_S) -> list[LoadedGraph]:
    """Put every graph of ``release`` into ``store``, calling ``progress`` after each.

    With ``store.update_url`` the graphs go to staging names and are moved onto their own at
    the end, so that the store serves the previous graphs until then, announced by
    LOADING_GRAPH ``wait`` seconds before the first. Raises
    BackendUnavailable naming the graph and the store's answer when a request fails (after
    dropping the staging graphs already written).
    """
    opener = store.opener()
    token = secrets.token_hex(6)
    staged: list[tuple[str, str]] = []
    loaded, switching = [], False
    if store.credentials:  # draw the store's challenge without a body (see _SigningDigest)
        _send(opener, urllib.request.Request(_graph_url(store.url, "urn:kazdata:load:probe"), method="GET"),
              timeout, f"GET {store.url}", answered=(404,))
    if store.update_url:
        _announce_staging(opener, store, [f"urn:kazdata:load:{token}:{n}" for n in range(len(release.graphs))],
                          timeout, wait)
    try:
        for number, (graph, body) in enumerate(graph_payloads(release)):
            target = f"urn:kazdata:load:{token}:{number}" if store.update_url else graph
            started = time.monotonic()
            _put(opener, store.url, target, body, timeout, graph)
            if store.update_url:
                staged.append((target, graph))
            loaded.append(LoadedGraph(graph, body.count(b"\n"), time.monotonic() - started))
            progress(loaded[-1])
        switching = True
        while staged:  # one MOVE a request: one transaction of 10^6 quads held Oxigraph for minutes
            _update(opener, store.update_url or "", f"MOVE SILENT <{staged[0][0]}> TO <{staged[0][1]}>", timeout)
            staged.pop(0)
        if store.update_url:
            _update(opener, store.update_url, f"DROP SILENT GRAPH <{LOADING_GRAPH}>", timeout)
    except BackendUnavailable as error:
        outcome = (f"{len(loaded)} graph(s) before it were replaced in place, the rest were not"
                   if not store.update_url else "the switch itself failed: check the store's graphs" if switching
                   else "nothing was switched: the store serves the graphs it had")
        raise BackendUnavailable(f"{error.message}; {outcome}") from None
    finally:
        if staged and store.update_url:  # a failure before the switch: leave nothing behind
            try:
                _drop(opener, store.update_url, [s for s, _ in staged], timeout)
            except BackendUnavailable:
                pass  # the original failure is the one to report; LOADING_GRAPH stays, naming them
    return loaded


def _announce_staging(opener: urllib.request.OpenerDirector, store: GraphStore, staging: list[str],
                      timeout: float, wait: float) -> None:
    """Drop what a failed load left (the staging graphs its LOADING_GRAPH names), put
    LOADING_GRAPH naming ``staging``, and wait ``wait`` seconds for the sparql tier to see it."""
    try:
        with opener.open(urllib.request.Request(_graph_url(store.url, LOADING_GRAPH), method="GET",
                                                headers={"Accept": "application/n-triples"}), timeout=timeout) as left:
            syntax = ox.RdfFormat.from_media_type(left.headers.get_content_type()) or ox.RdfFormat.TURTLE
            earlier = [t.object.value for t in ox.parse(left.read(), format=syntax)
                       if t.predicate.value == STAGING and isinstance(t.object, ox.NamedNode)]
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise BackendUnavailable(f"GET of <{LOADING_GRAPH}> from {store.url} failed: {error.code}") from None
        earlier = []
    except (OSError, SyntaxError) as error:
        raise BackendUnavailable(f"GET of <{LOADING_GRAPH}> from {store.url} failed: {error}") from None
    if earlier:
        _drop(opener, store.update_url or "", earlier, timeout)
    body = "".join(f"<{LOADING_GRAPH}> <{STAGING}> <{graph}> .\n" for graph in staging).encode()
    _put(opener, store.url, LOADING_GRAPH, body, timeout, LOADING_GRAPH)
    time.sleep(wait)


def _drop(opener: urllib.request.OpenerDirector, url: str, graphs: list[str], timeout: float) -> None:
    """Drop ``graphs`` and then LOADING_GRAPH, in one update request."""
    _update(opener, url, " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in [*graphs, LOADING_GRAPH]), timeout)


def _graph_url(url: str, graph: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}graph={quote(graph, safe='')}"


def _put(opener: urllib.request.OpenerDirector, url: str, graph: str, body: bytes, timeout: float,
         named: str) -> None:
    request = urllib.request.Request(_graph_url(url, graph), data=body, method="PUT",
                                     headers={"Content-Type": "application/n-triples"})
    _send(opener, request, timeout, f"PUT of graph <{named}> to {url}")


def _update(opener: urllib.request.OpenerDirector, url: str, update: str, timeout: float) -> None:
    request = urllib.request.Request(url, data=update.encode(), method="POST",
                                     headers={"Content-Type": "application/sparql-update"})
    _send(opener, request, timeout, f"update at {url}")


def _send(opener: urllib.request.OpenerDirector, request: urllib.request.Request, timeout: float,
          what: str, answered: tuple[int, ...] = ()) -> None:
    try:
        with opener.open(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as error:
        if error.code in answered:
            return
        raise BackendUnavailable(f"{what} failed: {error.code} "
                                 f"{error.read().decode('utf-8', 'replace').strip()[:500]}") from None
    except OSError as error:
        raise BackendUnavailable(f"{what} failed: {getattr(error, 'reason', error)}") from None
