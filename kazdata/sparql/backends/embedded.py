"""Oxigraph embedded in the process: the ``memory`` and ``disk`` stores, and evaluating on them.

``evaluate`` is the one place a query meets a pyoxigraph store; the in-process backend below
and the query processes (``kazdata.runtime.query_process``) both call it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from kazdata.errors import BackendUnavailable, BadRequest, Forbidden, NotAcceptable, QueryTimeout, ReleaseError
from kazdata.formats import RESULT_FORMATS
from kazdata.release.opened import Release
from kazdata.sparql import answers
from kazdata.sparql.answers import Answer
from kazdata.sparql.policy import QueryRequest, timeout_message
from kazdata.sparql.query_check import CheckedQuery, QueryRules

log = logging.getLogger("kazdata.query")
#: The default of the ``result_bytes`` setting: the most bytes of terms one result keeps.
RESULT_BYTES = 32_000_000
T = TypeVar("T")

#: The folder of a release holding the RocksDB store that ``kazdata build --store`` writes.
STORE_DIR = "store"
#: In ``STORE_DIR``: the digest of the N-Quads dump the store was loaded from.
STORE_SOURCE = "SOURCE"


def open_memory(release: Release) -> ox.Store:
    """The release's N-Quads dump loaded into memory (one named graph per source, the ontology)."""
    return release.load_store()


def check_disk_store(release: Release) -> None:
    """Raise ReleaseError if the release has no on-disk store, or one loaded from other data.

    The store is not listed in SHA256SUMS (RocksDB files are not byte-reproducible); ``SOURCE``
    ties it to the dump it was loaded from, which is.
    """
    marker = release.directory / STORE_DIR / STORE_SOURCE
    if not marker.is_file():
        raise ReleaseError(f"{release.directory} has no on-disk store: build it with "
                           "`kazdata build --store`, or serve it with --backend memory")
    if marker.read_text().strip() != release.digests["dumps/kazdata.nq"]:
        raise ReleaseError(f"{marker.parent} was not loaded from this release's dumps/kazdata.nq; "
                           "rebuild the release with --store")


def open_disk(release: Release) -> ox.Store:
    """The release's RocksDB store, read-only: opening it reads no data, so it takes
    milliseconds at any size, and processes that open it share the operating system's page cache."""
    check_disk_store(release)
    return ox.Store.read_only(str(release.directory / STORE_DIR))


def load_store(folder: Path, nquads: Path) -> None:
    """Load ``nquads`` into a new RocksDB store in ``folder`` (build time; a job for a worker
    process of the build, beside the dumps and the documents)."""
    store = ox.Store(str(folder))
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    store.optimize()
    store.flush()
    del store


def mark_store(folder: Path, digest: str) -> None:
    """Record in the store the digest of the N-Quads dump it was loaded from (``check_disk_store``)."""
    (folder / STORE_SOURCE).write_text(digest + "\n")


def _dataset(request: QueryRequest, checked: CheckedQuery) -> dict:
    """The graphs a query sees: the protocol's parameters (which replace the query's FROM, as the
    protocol asks), else its FROM, else the union (Oxigraph ignores FROM when asked for the union)."""
    if request.default_graphs or request.named_graphs:
        options: dict = {"default_graph": [ox.NamedNode(g) for g in request.default_graphs] or [ox.DefaultGraph()]}
        if request.named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
        return options
    if checked.uses_from:
        return {}  # Oxigraph builds the dataset from the query's FROM / FROM NAMED
    return {"use_default_graph_as_union": True}


def evaluate(store: ox.Store, request: QueryRequest, rules: QueryRules, limit: int,
             max_bytes: int = RESULT_BYTES) -> Answer:
    """Check ``request`` against ``rules`` (``kazdata.sparql.query_check``: here, under the time
    limit, not in a web worker), then evaluate on ``store`` and write the answer in the format
    the request names (``kazdata.sparql.answers``: pyoxigraph's writers, no row as a Python
    object), keeping at most ``limit`` rows or triples and ``max_bytes`` of them in N-Triples
    form (flagged when cut, either way).

    Rows alone did not bound a reply: 10,000 rows of 32 kB took a web worker from 87 MB to
    1 GB (issue 15), so the bytes are bounded too.

    Raises Forbidden for an update or a SERVICE the rules refuse, BadRequest for a syntax error
    (with line and column) or an evaluation error, NotAcceptable when the client takes this
    kind of result in no format, and
    BackendUnavailable when the store cannot be read or an allow-listed SERVICE cannot be
    reached (pyoxigraph's OSError): its message may name files of the release, so it is
    logged, not sent.
    """
    checked = (rules.check(request.text) if request.checked_uses_from is None
               else CheckedQuery(request.checked_uses_from))
    try:
        results = store.query(request.text, prefixes=rules.prefixes, base_iri=request.base_iri,
                              **_dataset(request, checked))
        if isinstance(results, ox.QueryTriples):
            if request.graph_format is None:
                raise answers.refuse_kind(answers.CONSTRUCT_FORMATS, request.graph_refusal)
            fmt = next(f for f in answers.CONSTRUCT_FORMATS if f.extension == request.graph_format)
            answer = answers.graph_answer(results, fmt, limit, max_bytes, rules.prefixes)
        elif request.results_format is None:
            raise answers.refuse_kind(answers.SELECT_FORMATS, request.results_refusal)
        elif isinstance(results, ox.QueryBoolean):
            answer = answers.boolean_answer(results, RESULT_FORMATS[request.results_format])
        else:
            answer = answers.select_answer(results, RESULT_FORMATS[request.results_format], limit, max_bytes)
        answer.uses_from = checked.uses_from
        return answer
    except SyntaxError as error:
        raise BadRequest(f"malformed query: {error}") from None
    except OSError as error:
        log.error("SPARQL evaluation failed reading the store or a SERVICE endpoint: %s", error)
        raise BackendUnavailable("the store, or a SERVICE endpoint the query calls, could not be read; "
                                 "the error was logged; try again in a moment") from None
    except (ValueError, RuntimeError) as error:
        raise BadRequest(f"the query failed: {error}") from None


E = TypeVar("E", bound=BaseException)


def detached(error: E) -> E:
    """``error`` without the frames it passed through, nor the error it was raised from (whose
    frames are those of ``evaluate``), for the caller to carry to another thread or process.

    Those frames hold pyoxigraph's query results, which may only be dropped on the thread that
    made them: pyo3 refuses another thread's drop, leaks the result and reports it as
    "unsendable" (a CONSTRUCT refused as JSON-LD carried its result to the request thread so).

    The caller raising it must not hold it either: an error raised from a local (a reply, an
    outcome) is in a cycle, the error's traceback holding that frame and the frame the error,
    and every frame the error then passes through, the request thread's with its results, lives
    until the cyclic collector runs, on whichever thread it runs. So it is raised from a local
    deleted as it leaves (``try: raise error`` / ``finally: del error``).
    """
    error.__context__ = error.__cause__ = None
    return error.with_traceback(None)


def row_bytes(row: dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]) -> int:
    """A row's size as the byte limit counts it: its terms in N-Triples form."""
    return sum(len(str(term)) for term in row.values() if term is not None)


def triple_bytes(triple: ox.Triple) -> int:
    return len(str(triple))


def take_bounded(iterator: Iterator[T], count: int, max_bytes: int, size: Callable[[T], int]) -> tuple[list[T], bool]:
    """At most ``count`` items and ``max_bytes`` of them (as ``size`` counts), and whether any
    were left out: every backend bounds a result the same way (``--result-limit``, ``--result-bytes``)."""
    items: list[T] = []
    total = 0
    for item in iterator:
        total += size(item)
        if len(items) >= count or total > max_bytes:
            return items, True
        items.append(item)
    return items, False


#: How much lower than request handling a query runs: added to the caller's nice value (Linux
#: ``nice``, per thread or process), up to the lowest priority, 19.
QUERY_NICENESS = 10


def lower_priority(increment: int = QUERY_NICENESS, thread: bool = True) -> None:
    """Let dereferencing and cheap requests win the CPU from long queries.

    The nice value goes up by ``increment`` from where it is, never to a fixed value: a server
    started under ``nice -n 15`` would otherwise have its queries *raised* to 10 (allowed for
    root). On Linux a thread has its own nice value, so a query thread or process can lower its
    own priority without privileges; elsewhere this does nothing.
    """
    if hasattr(os, "setpriority"):
        who = threading.get_native_id() if thread else 0
        try:
            os.setpriority(os.PRIO_PROCESS, who, min(19, os.getpriority(os.PRIO_PROCESS, who) + increment))
        except OSError:
            pass


class InProcessBackend:
    """Evaluates in a helper thread of this process; the request waits at most the timeout.

    For the in-process app (tests, ``--dev``) and as the model the query processes follow.
    pyoxigraph cannot interrupt a query, so a runaway query keeps its thread busy until it
    ends; that is why ``kazdata serve`` evaluates in killable query processes instead.
    """

    def __init__(self, store: ox.Store, prefixes: dict[str, str],
                 service_allowlist: tuple[str, ...] = (), result_bytes: int = RESULT_BYTES) -> None:
        self.store = store
        self.result_bytes = result_bytes
        self.rules = QueryRules(prefixes, tuple(service_allowlist))

    def query(self, request: QueryRequest, *, limit: int, timeout: float) -> Answer:
        outcome: dict = {}

        def run() -> None:
            lower_priority()
            try:
                outcome["result"] = evaluate(self.store, request, self.rules, limit, self.result_bytes)
            except (BadRequest, Forbidden, NotAcceptable, BackendUnavailable) as error:
                outcome["error"] = detached(error)

        worker = threading.Thread(target=run, name="sparql-query", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise QueryTimeout(timeout_message(timeout))
        if "error" in outcome:
            error = outcome.pop("error")
            try:
                raise error
            finally:  # no cycle through its traceback (``detached``)
                del error
        return outcome["result"]
