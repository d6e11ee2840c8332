"""The query check's verdicts, shared by one supervisor's query processes.

A query that holds a watched word in its code is parsed by rdflib before it runs
(``kazdata.sparql.query_check``): milliseconds for a short query, hundreds for a long one. Each
query process remembers what it passed, and each web worker says so when it sends a text its
own earlier answer told it about; but a web worker that has no answer yet, or a query process
that has not seen the text (forked since, or one of the others under concurrent traffic) parsed
it again. Under 32 connections that repeated for seconds (issue 20: one example query at 8 req/s).

So the supervisor, which sees every query pass, keeps the verdicts too, by digest of the text:

- the web worker puts the text's digest in the query's ticket (``kazdata.runtime.query_client``)
  when it does not know the verdict itself;
- a query process that ran the check and passed the text says so in its ``done``:
  ``d``, ``1`` or ``0`` (uses FROM or not), the digest of the text it read;
- the supervisor hands the next query with that digest on with the verdict: ``q``, the flag, the
  digest. The query process uses it only if the digest is that of the text it reads, so a verdict
  never applies to another text.

At most ``CACHED_QUERIES`` verdicts are kept (about 100 kB); a refusal is never kept. One
supervisor serves one release under one set of rules, so its verdicts never go stale.
"""

from __future__ import annotations

import hashlib

from kazdata.sparql.query_check import CACHED_QUERIES

DIGEST_BYTES = 16
#: the ticket's digest when the web worker knows the verdict, or has none to ask for
NO_DIGEST = bytes(DIGEST_BYTES)
HAND = b"q"
DONE = b"d"
_FLAGS = {b"0": False, b"1": True}


def digest(text: str) -> bytes:
    """The digest a query text is known by (BLAKE2b, 128 bits: about a microsecond for 2 kB)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


def _with_verdict(kind: bytes, uses_from: bool, of: bytes) -> bytes:
    return kind + (b"1" if uses_from else b"0") + of


def done(uses_from: bool | None, text: str) -> bytes:
    """A query process's ``done``: with the verdict when it ran the check on ``text`` and passed it."""
    return DONE if uses_from is None else _with_verdict(DONE, uses_from, digest(text))


def verdict_for(message: bytes, text: str) -> bool | None:
    """In a query process: whether ``text`` uses FROM, as the supervisor's hand-off ``message``
    says, if it speaks of this very text; else None (check it)."""
    if len(message) != 2 + DIGEST_BYTES or message[1:2] not in _FLAGS or message[2:] != digest(text):
        return None
    return _FLAGS[message[1:2]]


class Verdicts:
    """The supervisor's memory: digest of a text that passed the check -> whether it uses FROM."""

    def __init__(self, most: int = CACHED_QUERIES) -> None:
        self.most = most
        self.known: dict[bytes, bool] = {}

    def learn(self, said: bytes) -> None:
        """Keep the verdict a query process's ``done`` carries, if any."""
        if len(said) == 2 + DIGEST_BYTES and said[:1] == DONE and said[1:2] in _FLAGS:
            if len(self.known) >= self.most:
                self.known.clear()
            self.known[said[2:]] = _FLAGS[said[1:2]]

    def hand(self, of: bytes) -> bytes:
        """The hand-off message for a query whose ticket carries the digest ``of``."""
        uses_from = self.known.get(of) if of != NO_DIGEST else None
        return HAND if uses_from is None else _with_verdict(HAND, uses_from, of)
