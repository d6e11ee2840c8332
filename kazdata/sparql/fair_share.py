"""How much of the query evaluation one client may hold: the rule of ``--queries-per-client``.

A query runs in its query process until it ends or the operator's time limit kills it, even
when its client asked for a shorter ``timeout`` and has had its 503 (so a tiny timeout cannot
make the server kill and replace processes; decision 004). Ten clients sending ``timeout=0.1``
every ten seconds therefore kept every query process busy, and a cheap ASK waited 9.5 s
(issue 15). So a client's queries that hold a process are counted, per client address: one
that has run longer than ``CHEAP`` until it answers, one whose client gave up until its process
is free (cheap queries sent in parallel are not counted, so a page or a test sending several at
once is never refused). A client at the cap gets ``429`` with ``Retry-After`` before its next
query runs.

The query supervisor counts (``kazdata.runtime.supervisor``): it sees every web worker's
queries, so the cap holds for the whole server. Without query processes (a remote store) a web
worker counts its own (``kazdata.web.fairness``), by the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from kazdata.errors import TooManyRequests

#: a query running no longer than this is not counted: cheap queries in parallel are no harm
CHEAP = 1.0


@dataclass(frozen=True, eq=False)  # by identity: two holds of one client in the same tick are two holds
class Hold:
    """One query of ``client`` holding what evaluates it: since ``started``, given up by its
    client at ``give_up_at``, over at the latest at ``ends`` (the operator's limit)."""

    client: str
    started: float
    give_up_at: float
    ends: float

    def counts(self, now: float) -> bool:
        """Whether it holds a process now that the client could not have had without it: one
        its client gave up on (it runs on for nobody), or one that has run past ``CHEAP``."""
        return self.ends > now and (now >= self.give_up_at or now - self.started > CHEAP)


def refusal(holds: Iterable[Hold], cap: int, now: float) -> TooManyRequests | None:
    """The 429 for a client holding ``holds`` that asks for one more query, or None if it may
    have it (``cap`` 0: no cap). ``Retry-After`` is the whole seconds until the first of its
    counted holds ends at the latest."""
    if cap <= 0:
        return None
    counted = [hold for hold in holds if hold.counts(now)]
    if len(counted) < cap:
        return None
    wait = max(1, math.ceil(min(hold.ends for hold in counted) - now))
    running = f"{len(counted)} {'query' if len(counted) == 1 else 'queries'} running"
    return TooManyRequests(f"this client already has {running}, the most one client "
                           f"may have; try again in {wait} s", headers={"Retry-After": str(wait)})
