"""The query check's verdicts as the supervisor shares them (``kazdata.runtime.verdicts``), in
process: the messages are bytes written here from the module's documented layout (a kind
letter, ``1``/``0`` for FROM, the text's BLAKE2b-128 digest from hashlib)."""

from __future__ import annotations

import hashlib

from kazdata.runtime import verdicts
from kazdata.runtime.query_client import Ticket, read_ticket
from kazdata.runtime.verdicts import NO_DIGEST, Verdicts, done, verdict_for

NAMED = "SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }"
OTHER = "SELECT * FROM <http://e/h> WHERE { ?s ?p ?o }"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def test_a_passed_text_is_handed_on_with_its_verdict_and_only_to_that_text():
    known = Verdicts()
    assert done(True, NAMED) == b"d1" + _digest(NAMED)
    assert done(None, NAMED) == b"d"  # not checked here: nothing to tell
    known.learn(done(True, NAMED))
    known.learn(done(False, OTHER))
    assert known.hand(_digest(NAMED)) == b"q1" + _digest(NAMED)
    assert known.hand(_digest(OTHER)) == b"q0" + _digest(OTHER)
    assert verdict_for(known.hand(_digest(NAMED)), NAMED) is True
    assert verdict_for(known.hand(_digest(OTHER)), OTHER) is False
    assert verdict_for(known.hand(_digest(NAMED)), OTHER) is None  # another text: checked
    assert known.hand(_digest("ASK {}")) == b"q" and verdict_for(b"q", "ASK {}") is None
    assert known.hand(NO_DIGEST) == b"q"


def test_what_is_not_a_verdict_is_not_kept_and_the_memory_is_bounded():
    known = Verdicts(most=2)
    for said in (b"d", b"dx" + _digest(NAMED), b"d1" + _digest(NAMED)[:-1], b"q1" + _digest(NAMED)):
        known.learn(said)
    assert known.known == {}
    for n in range(3):
        known.learn(done(True, f"ASK FROM <http://e/{n}> {{}}"))
    assert list(known.known) == [_digest("ASK FROM <http://e/2> {}")]


def test_the_ticket_carries_the_digest_to_the_supervisor():
    import socket
    ticket = Ticket("192.0.2.7", 123.5, verdicts.digest(NAMED))
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(ticket.encode() + b"the query")
        assert read_ticket(receiver) == ("192.0.2.7", 123.5, _digest(NAMED))
        assert receiver.recv(64) == b"the query"


def test_any_text_has_a_digest_even_one_no_client_can_send():
    """A lone surrogate cannot come through the protocol (its UTF-8 is refused), but a digest
    must not raise in a web worker whatever text it holds."""
    lone = "ASK { ?s ?p '\ud800' }"
    assert verdicts.digest(lone) == hashlib.blake2b(lone.encode("utf-8", "surrogatepass"), digest_size=16).digest()
