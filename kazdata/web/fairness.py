"""How much of the query processes one client may hold: a cap on its queries in flight.

A query runs in a query process until it ends or the operator's time limit kills it, even when
its client asked for a shorter ``timeout`` and has had its 503 (so a tiny timeout cannot make
the server kill and replace processes; decision 004). Ten clients sending ``timeout=0.1`` every
ten seconds therefore kept every query process busy, and a cheap ASK waited 9.5 s (issue 15).
``ClientQueries`` counts, per client address, the queries that may still be running: one that
answered is released at once, one whose client gave up first is counted until the operator's
limit, when its process is certain to be free. A client at its cap gets ``429`` with
``Retry-After`` (the seconds until its first hold ends) before anything runs.

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


class ClientQueries:
    """Queries in flight per client address, capped at ``cap`` (``0``: no cap)."""

    def __init__(self, cap: int, time_limit: float) -> None:
        self.cap = cap
        self.time_limit = time_limit
        self._held: dict[str, list[float]] = {}  # address -> when each hold ends at the latest
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Run the block as one of ``client``'s queries; raises TooManyRequests at the cap."""
        if self.cap <= 0:
            yield
            return
        now = time.monotonic()
        ends = now + self.time_limit
        with self._lock:
            if len(self._held) > SWEEP_AFTER:
                self._sweep(now)
            held = [end for end in self._held.get(client, []) if end > now]
            if len(held) >= self.cap:
                self._held[client] = held
                wait = max(1, math.ceil(min(held) - now))
                raise TooManyRequests(f"this client already has {len(held)} queries running, the most one client "
                                      f"may have; try again in {wait} s", headers={"Retry-After": str(wait)})
            self._held[client] = [*held, ends]
        try:
            yield
        except QueryTimeout:
            raise  # the query may run on in its process until the operator's limit: keep the hold
        except BaseException:
            self._release(client, ends)
            raise
        self._release(client, ends)

    def _release(self, client: str, ends: float) -> None:
        with self._lock:
            held = self._held.get(client, [])
            if ends in held:
                held.remove(ends)
            if not held:
                self._held.pop(client, None)

    def _sweep(self, now: float) -> None:
        for client in list(self._held):
            held = [end for end in self._held[client] if end > now]
            if held:
                self._held[client] = held
            else:
                del self._held[client]
