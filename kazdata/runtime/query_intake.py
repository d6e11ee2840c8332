"""Web workers' connections between the supervisor's accept and a query process.

The supervisor accepts a connection only while it has an idle query process. Before handing it
on it reads the connection's ``Ticket`` (``kazdata.runtime.query_client``): the client's address
and when its web worker stops waiting. That is where ``--queries-per-client`` is enforced for
the whole server (``kazdata.sparql.fair_share``): the supervisor sees every web worker's
queries, so a client cannot hold cap x workers of them by reaching several workers, as it could
when each worker counted its own. A client past the cap is sent the 429 as the reply and its
query never reaches a process; a query whose web worker stopped waiting while it queued is
closed unread.

The ticket is normally there when the connection is accepted (the web worker sends it with the
query in one write, right after connecting); when it is not, the connection waits in the
supervisor's selector, never blocking its loop, for at most ``TICKET_WAIT``.

A web-worker thread keeps its connection between queries (``kazdata.runtime.query_client``):
once a query process has answered, the supervisor gives the connection back here (``keep``),
and it is watched for the next query. When that comes it is taken exactly as a newly accepted
connection is (``take``: ticket read, cap applied, queued for a process), so a kept connection
is no way around the cap. A refused query's connection is closed after its 429, kept or new:
the query frame behind the ticket is still unread in it, and reading past a frame that may
arrive in pieces would give the loop a state per connection for the one client it is refusing;
that client pays one connect on its next query. A drain closes the kept connections
(``stop_keeping``): their web workers send their next query on a new connection, which the new
supervisor accepts.
"""

from __future__ import annotations

import logging
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable

from kazdata.errors import KazdataError
from kazdata.runtime.query_frames import Ticket, frame, read_ticket
from kazdata.sparql.fair_share import Hold, refusal

log = logging.getLogger("kazdata.query")

#: How long an accepted connection may take to deliver its ticket before it is closed.
TICKET_WAIT = 2.0


class Intake:
    """Accepted connections: those whose ticket is still arriving, and those waiting, ticket
    read, for the next idle query process (first come, first handed)."""

    def __init__(self, selector: selectors.BaseSelector, cap: int, max_kept: int) -> None:
        self.selector = selector
        self.cap = cap
        self.arriving: dict[socket.socket, float] = {}  # -> when it is closed if its ticket is not all here
        self.waiting: deque[tuple[socket.socket, Ticket]] = deque()
        #: connections a web worker keeps between queries, idle, watched for its next query
        self.kept: set[socket.socket] = set()
        self.max_kept = max_kept
        self.keeping = True

    def __len__(self) -> int:
        """The connections here that will need a query process (kept, idle ones will not yet)."""
        return len(self.arriving) + len(self.waiting)

    def connections(self) -> list[socket.socket]:
        """Every connection held here (a forked query process closes its copies)."""
        return [*self.arriving, *(connection for connection, _ in self.waiting), *self.kept]

    def take(self, connection: socket.socket, now: float) -> None:
        """A connection just accepted from a web worker (its peer checked), or a kept one whose
        next query has come."""
        if not self._read(connection):
            self.arriving[connection] = now + TICKET_WAIT
            self.selector.register(connection, selectors.EVENT_READ, self._on_ticket)

    def _read(self, connection: socket.socket) -> bool:
        """Queue ``connection`` if its ticket has arrived, close it if it failed: True when done
        with; False while the ticket is still on its way."""
        try:
            ticket = read_ticket(connection)
        except (EOFError, OSError):
            connection.close()  # its web worker gave up, or went
            return True
        if ticket is None:
            return False
        self.waiting.append((connection, ticket))
        return True

    def _on_ticket(self, connection: socket.socket) -> None:
        if connection not in self.arriving:
            return
        self.selector.unregister(connection)
        if self._read(connection):
            del self.arriving[connection]
        else:
            self.selector.register(connection, selectors.EVENT_READ, self._on_ticket)

    def expire(self, now: float) -> None:
        """Close the connections whose ticket is overdue."""
        for connection, until in list(self.arriving.items()):
            if now >= until:
                log.warning("query socket: closed a connection that sent no ticket within %g s", TICKET_WAIT)
                self.selector.unregister(connection)
                del self.arriving[connection]
                connection.close()

    def next_wake(self) -> float | None:
        """When ``expire`` has something to do next."""
        return min(self.arriving.values(), default=None)

    def next_query(self, holds_of: Callable[[str], list[Hold]], now: float) -> tuple[socket.socket, Ticket] | None:
        """The first waiting query that may run now, taken off the queue; those before it whose
        web worker stopped waiting are closed, those whose client holds its cap are refused."""
        while self.waiting:
            connection, ticket = self.waiting.popleft()
            if now >= ticket.give_up_at:
                connection.close()  # nobody waits for its answer any more
                continue
            refused = refusal(holds_of(ticket.client), self.cap, now)
            if refused is None:
                return connection, ticket
            _tell(connection, refused)
            connection.close()
        return None

    def keep(self, connection: socket.socket) -> None:
        """Watch ``connection``, its answer written, for its web worker's next query."""
        if not self.keeping or len(self.kept) >= self.max_kept:
            connection.close()  # the web worker sends its query again on a new connection
            return
        self.kept.add(connection)
        self.selector.register(connection, selectors.EVENT_READ, self._on_kept)

    def _on_kept(self, connection: socket.socket) -> None:
        """A kept connection has a query, taken as a new connection's is; or it has ended (its
        ticket read then fails, and it is closed)."""
        self.selector.unregister(connection)
        self.kept.discard(connection)
        self.take(connection, time.monotonic())

    def stop_keeping(self) -> None:
        """Close the kept connections and keep none from now on (a drain, or the end)."""
        self.keeping = False
        for connection in self.kept:
            self.selector.unregister(connection)
            connection.close()
        self.kept.clear()

    def put_back(self, connection: socket.socket, ticket: Ticket) -> None:
        """A query whose process died before reading it: first in line for the next one."""
        self.waiting.appendleft((connection, ticket))

    def close(self) -> None:
        """Close every connection still here. Its web worker sees the connection end before
        any reply and sends the query once more on a new connection (to the next supervisor,
        in a release switch); only if that ends the same way does its client get a 503."""
        for connection in list(self.arriving):
            self.selector.unregister(connection)
            connection.close()
        self.arriving.clear()
        while self.waiting:
            self.waiting.popleft()[0].close()


def _tell(connection: socket.socket, error: KazdataError) -> None:
    """Send ``error`` as the reply without waiting: the connection's reply buffer is empty."""
    try:
        connection.send(frame(("error", error)), socket.MSG_DONTWAIT)
    except OSError:
        pass  # its web worker has gone
