"""Where the triples live, behind one small interface (``kazdata.sparql.policy.Backend``).

Chosen by the ``backend`` setting:
- ``memory`` (default): the release's N-Quads dump loaded into an in-memory Oxigraph store;
- ``disk``: the RocksDB store ``kazdata build --store`` writes into the release, opened
  read-only: it opens in milliseconds at any size, and the query processes share the operating
  system's page cache instead of each holding a copy;
- ``remote``: any SPARQL 1.1 endpoint (``--endpoint``), loaded with ``kazdata load``.

Under ``kazdata serve`` the embedded stores are evaluated in killable query processes
(``kazdata.runtime.query_client`` sends them there; ``kazdata.runtime.supervisor`` forks and
limits them); the in-process app (tests, ``--dev``) evaluates in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from kazdata.errors import ReleaseError
from kazdata.release.opened import Release
from kazdata.settings import Settings
from kazdata.sparql.backends.embedded import (
    InProcessBackend,
    check_disk_store,
    open_disk,
    open_memory,
)
from kazdata.sparql.policy import Backend
from kazdata.vocabulary import prefixes_for


@dataclass(frozen=True)
class EmbeddedStore:
    """How an embedded store is opened, and whether forked processes may share one opening
    (an in-memory store can be shared copy-on-write; RocksDB must be opened after the fork)."""

    name: str
    open: Callable[[Release], ox.Store]
    shared_by_fork: bool
    check: Callable[[Release], None] = lambda release: None


EMBEDDED_STORES: dict[str, EmbeddedStore] = {
    "memory": EmbeddedStore("memory", open_memory, shared_by_fork=True),
    "disk": EmbeddedStore("disk", open_disk, shared_by_fork=False, check=check_disk_store),
}
BACKENDS = (*EMBEDDED_STORES, "remote")


def open_backend(settings: Settings, release: Release, query_socket: str | None = None) -> Backend:
    """The backend a web process queries for ``release``, as the settings ask.

    Raises ReleaseError when the release cannot be served that way (no endpoint for ``remote``,
    no on-disk store for ``disk``); a server then keeps serving the release it has.
    """
    if settings.backend == "remote":
        from kazdata.sparql.backends.remote import RemoteBackend
        if not settings.endpoint:
            raise ReleaseError("--backend remote needs --endpoint, the remote store's SPARQL query URL")
        return RemoteBackend(settings.endpoint, release.graphs, prefixes_for(release.base),
                             tuple(settings.service_allowlist), int(settings.result_bytes),
                             union_default_graph=settings.union_default_graph)
    if query_socket:
        from kazdata.runtime.query_client import ProcessBackend
        # refuse what the query supervisor will refuse (a release without its on-disk store):
        # else this worker would switch its documents to the new release while SPARQL stayed
        # on the old one, for good
        EMBEDDED_STORES[settings.backend].check(release)
        return ProcessBackend(query_socket)
    return InProcessBackend(EMBEDDED_STORES[settings.backend].open(release), prefixes_for(release.base),
                            tuple(settings.service_allowlist), int(settings.result_bytes))
