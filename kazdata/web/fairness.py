"""A web worker's own count of each client's queries, where no query supervisor counts them.

Under ``kazdata serve`` with query processes the query supervisor counts every client's queries
for the whole server (``kazdata.sparql.fair_share``, ``kazdata.runtime.supervisor``), and this
count is off. It guards what the supervisor does not see: a remote store (``--backend
remote``), which runs on a query whose client gave up until its own limit, and the development
server's query threads. There it counts per web worker, by the same rule (a query counts once
it has run past 1 s until it answers, and from when its client gave up until the
operator's limit), so one client holds at most cap x workers of the store's queries.

The client is the connection's address (``REMOTE_ADDR``): a server behind a proxy sees the
proxy, so cap there or raise the setting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kazdata.errors import QueryTimeout
from kazdata.sparql.fair_share import Hold, refusal

#: clients remembered before the expired holds of all of them are swept
SWEEP_AFTER = 4096


class ClientQueries:
    """Queries in flight per client address in this process, capped at ``cap`` (``0``: no cap)."""

    def __init__(self, cap: int, time_limit: float) -> None:
        self.cap = cap
        self.time_limit = time_limit
        self._held: dict[str, list[Hold]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str, timeout: float | None) -> Iterator[None]:
        """Run the block as one of ``client``'s queries, which its client gives up after
        ``timeout`` (None: the time limit); raises TooManyRequests at the cap."""
        if self.cap <= 0:
            yield
            return
        now = time.monotonic()
        hold = Hold(client, now, now + min(timeout or self.time_limit, self.time_limit), now + self.time_limit)
        with self._lock:
            if len(self._held) > SWEEP_AFTER:
                self._sweep(now)
            holds = [h for h in self._held.get(client, []) if h.ends > now]
            self._held[client] = holds
            refused = refusal(holds, self.cap, now)
            if refused is not None:
                try:
                    raise refused
                finally:  # raised from a local: no cycle through its traceback (``detached``)
                    del refused
            holds.append(hold)
        try:
            yield
        except QueryTimeout:
            raise  # it may run on until the operator's limit: the hold stays until then
        except BaseException:
            self._release(client, hold)
            raise
        self._release(client, hold)

    def _release(self, client: str, hold: Hold) -> None:
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
