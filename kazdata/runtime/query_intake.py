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
"""

from __future__ import annotations

import logging
import selectors
import socket
from collections import deque
from collections.abc import Callable

from kazdata.errors import KazdataError
from kazdata.runtime.query_client import Ticket, frame, read_ticket
from kazdata.sparql.fair_share import Hold, refusal

log = logging.getLogger("kazdata.query")

#: How long an accepted connection may take to deliver its ticket before it is closed.
TICKET_WAIT = 2.0


class Intake:
    """Accepted connections: those whose ticket is still arriving, and those waiting, ticket
    read, for the next idle query process (first come, first handed)."""

    def __init__(self, selector: selectors.BaseSelector, cap: int) -> None:
        self.selector = selector
        self.cap = cap
        self.arriving: dict[socket.socket, float] = {}  # -> when it is closed if its ticket is not all here
        self.waiting: deque[tuple[socket.socket, Ticket]] = deque()

    def __len__(self) -> int:
        return len(self.arriving) + len(self.waiting)

    def take(self, connection: socket.socket, now: float) -> None:
        """A connection just accepted from a web worker (its peer checked)."""
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

    def put_back(self, connection: socket.socket, ticket: Ticket) -> None:
        """A query whose process died before reading it: first in line for the next one."""
        self.waiting.appendleft((connection, ticket))

    def close(self) -> None:
        """Close every connection still here (each web worker answers 503)."""
        for connection in list(self.arriving):
            self.selector.unregister(connection)
            connection.close()
        self.arriving.clear()
        while self.waiting:
            self.waiting.popleft()[0].close()


def unread(connection: socket.socket) -> bool:
    """True if the web worker's query is still waiting in ``connection``, unread."""
    try:
        return bool(connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:
        return False


def _tell(connection: socket.socket, error: KazdataError) -> None:
    """Send ``error`` as the reply without waiting: the connection's reply buffer is empty."""
    try:
        connection.send(frame(("error", error)), socket.MSG_DONTWAIT)
    except OSError:
        pass  # its web worker has gone
