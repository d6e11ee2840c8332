"""The release a server process serves, switched atomically when a new one is published.

Releases are switched by pointing the release path (a symlink, see ``kazdata publish``) at a new
release directory. Each worker notices within a second, opens and verifies the new release
beside the old one, and swaps one reference: requests already running finish on the release
they started with, and no request fails during the switch. A release that does not verify is
refused with a log message and the current one keeps being served.

A request reads the ``Served`` snapshot once, when it enters the application (``FastDocuments``
puts it in the WSGI environ under ``SERVED``), and works on it to the end (``served()``), so two
reads across a switch cannot mix two releases.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, request

from kazdata.errors import ReleaseError
from kazdata.release.opened import OpenedRelease, Release, open_release, release_stamp
from kazdata.settings import Settings
from kazdata.web.fairness import ClientQueries
from kazdata.web.release_caches import ReleaseCaches

log = logging.getLogger("kazdata.web")
CHECK_INTERVAL = 1.0
#: the WSGI environ key of a request's snapshot
SERVED = "kazdata.served"


@dataclass(frozen=True)
class Served:
    """One release with what was opened from it and the web layer's caches for it: what a
    request works with, from start to end."""

    stamp: tuple
    release: Release
    engine: Any
    caches: ReleaseCaches


class Resources:
    """Settings plus the served release and SPARQL engine, re-checked at most once a second."""

    def __init__(self, settings: Settings, open_engine: Callable[[Settings, Release, str | None], Any], *,
                 opened: OpenedRelease | None = None, query_socket: str | None = None,
                 fallback: Path | None = None) -> None:
        self.settings = settings
        self._open_engine = open_engine
        self._opened = opened
        self._query_socket = query_socket
        self._lock = threading.Lock()
        #: what each client may hold of a remote store's queries (kazdata.web.fairness); with query
        #: processes their supervisor counts for the whole server, so not here
        self.client_queries = ClientQueries(0 if query_socket else settings.queries_per_client,
                                            settings.query_timeout)
        self._served = self._first(self._stamp(), fallback)
        self._checked = time.monotonic()

    def _first(self, stamp: tuple, fallback: Path | None) -> Served:
        """The release to start with. A worker that starts (or is restarted by its server) while
        the pointer names a release that fails verification serves ``fallback``, the release
        ``kazdata serve`` verified at start, as the running workers keep theirs: failing here
        would have the server restart it in a loop, and granian then exits altogether."""
        try:
            return self._open(stamp)
        except ReleaseError as error:
            if fallback is None:
                raise
            log.error("not switching to %s: %s", stamp[0], error.message)
            served = self._open(release_stamp(fallback))
            return Served(stamp, served.release, served.engine, served.caches)  # retry on the next change

    def _stamp(self) -> tuple:
        return release_stamp(self.settings.release)

    def _open(self, stamp: tuple) -> Served:
        release = open_release(stamp, self.settings.verify, self._opened)
        return Served(stamp, release, self._open_engine(self.settings, release, self._query_socket),
                      ReleaseCaches(release))

    def peek(self) -> Served | None:
        """The release being served when no re-check is due, else None: an event loop takes this
        one and leaves the check (and opening a new release, which takes seconds) to a thread."""
        return self._served if time.monotonic() - self._checked < CHECK_INTERVAL else None

    def served(self) -> Served:
        """The release to serve now (re-checked at most once a second); read it once per request."""
        served = self._served
        if time.monotonic() - self._checked < CHECK_INTERVAL or not self._lock.acquire(blocking=False):
            return served
        try:
            self._checked = time.monotonic()
            try:
                stamp = self._stamp()
            except OSError:
                return served  # the pointer is being replaced: keep serving what we have
            if stamp != served.stamp:
                try:
                    self._served = self._open(stamp)
                    log.warning("now serving release %s (%s)", stamp[0], self._served.release.version)
                except (ReleaseError, OSError, ValueError, KeyError) as error:
                    log.error("not switching to %s: %s", stamp[0], getattr(error, "message", error))
                    self._served = Served(stamp, served.release, served.engine, served.caches)  # retry on next change
            return self._served
        finally:
            self._lock.release()


def served() -> Served:
    """This request's snapshot of the served release: taken once, kept for the request."""
    snapshot = request.environ.get(SERVED)
    if snapshot is None:
        snapshot = request.environ[SERVED] = current_app.extensions["kazdata"].served()
    return snapshot


def public_url(release: Release) -> str:
    """The site's public URL, ending in ``/``: the ``public_url`` setting, else the release's
    base IRI. Absolute URLs in responses start with it, never with the request's Host header,
    which any client sets as it likes (and which, as a cache key, let clients grow memory)."""
    return current_app.extensions["kazdata"].settings.public_url or release.base
