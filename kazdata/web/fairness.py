"""How much of the query processes one client may hold: a cap on its queries in flight.

A query runs in a query process until it ends or the operator's time limit kills it, even when
its client asked for a shorter ``timeout`` and has had its 503 (so a tiny timeout cannot make
the server kill and replace processes; decision 004). Ten clients sending ``timeout=0.1`` every
ten seconds therefore kept every query process busy, and a cheap ASK waited 9.5 s (issue 15).
``ClientQueries`` counts, per client address, the queries that hold a query process: one that
has run longer than ``CHEAP`` until it answers, one whose client gave up first until the
operator's limit, when its process is certain to be free (cheap queries sent in parallel are not
counted). A client at its cap gets ``429`` with ``Retry-After`` (the seconds until its first
counted hold ends at the latest) before anything runs.

The count is kept per web worker process (connections are spread over the workers, so a client
holds at most cap x workers); the client is the connection's address (``REMOTE_ADDR``): a
server behind a proxy sees the proxy, so cap there or raise the setting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kazdata.errors import QueryTimeout, TooManyRequests

#: clients remembered before the expired holds of all of them are swept
SWEEP_AFTER = 4096
#: a query running no longer than this is not counted: cheap queries in parallel are no harm
CHEAP = 1.0


class _Hold:
    """One query of a client: when it started, when its process is free at the latest, and
    whether its client gave up on it (it runs on until then)."""

    __slots__ = ("started", "ends", "abandoned")

    def __init__(self, started: float, ends: float) -> None:
        self.started, self.ends, self.abandoned = started, ends, False

    def counts(self, now: float) -> bool:
        """Whether it holds a process now that the client could not have had without it: an
        abandoned query until the limit, a running one once it has run past ``CHEAP``."""
        return self.ends > now and (self.abandoned or now - self.started > CHEAP)


class ClientQueries:
    """Heavy or abandoned queries in flight per client address, capped at ``cap`` (``0``: no cap)."""

    def __init__(self, cap: int, time_limit: float) -> None:
        self.cap = cap
        self.time_limit = time_limit
        self._held: dict[str, list[_Hold]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Run the block as one of ``client``'s queries; raises TooManyRequests at the cap."""
        if self.cap <= 0:
            yield
            return
        now = time.monotonic()
        hold = _Hold(now, now + self.time_limit)
        with self._lock:
            if len(self._held) > SWEEP_AFTER:
                self._sweep(now)
            holds = [h for h in self._held.get(client, []) if h.ends > now]
            counted = [h for h in holds if h.counts(now)]
            if len(counted) >= self.cap:
                self._held[client] = holds
                wait = max(1, math.ceil(min(h.ends for h in counted) - now))
                raise TooManyRequests(f"this client already has {len(counted)} queries running, the most one client "
                                      f"may have; try again in {wait} s", headers={"Retry-After": str(wait)})
            self._held[client] = [*holds, hold]
        try:
            yield
        except QueryTimeout:
            hold.abandoned = True  # it may run on in its process until the operator's limit
            raise
        except BaseException:
            self._release(client, hold)
            raise
        self._release(client, hold)

    def _release(self, client: str, hold: _Hold) -> None:
        with self._lock:
            holds = self._held.get(client, [])
            if hold in holds:
                holds.remove(hold)
            if not holds:
                self._held.pop(client, None)

    def _sweep(self, now: float) -> None:
        for client in list(self._held):
            holds = [h for h in self._held[client] if h.ends > now]
            if holds:
                self._held[client] = holds
            else:
                del self._held[client]
