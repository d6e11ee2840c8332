"""The rule of ``--queries-per-client`` (``kazdata.sparql.fair_share``), on hand-made holds: the
query supervisor and a remote store's web workers both count by it."""

from __future__ import annotations

import pytest

from kazdata.sparql.fair_share import Hold, refusal

NOW = 1000.0


def hold(ran: float, gave_up_in: float, ends_in: float) -> Hold:
    """A query that has run ``ran`` s, whose client gives up ``gave_up_in`` s from now (negative:
    has given up) and whose process is free ``ends_in`` s from now at the latest."""
    return Hold("127.0.0.1", NOW - ran, NOW + gave_up_in, NOW + ends_in)


@pytest.mark.parametrize(("the_hold", "counts"), [
    (hold(0.5, 5, 9.5), False),   # cheap so far, its client still waits
    (hold(1.5, 5, 8.5), True),    # past the 1 s grace
    (hold(0.2, -0.1, 9.8), True),  # given up: it runs on for nobody
    (hold(12, -2, -0.1), False),  # its process is free: nothing held
])
def test_what_counts(the_hold, counts):
    assert the_hold.counts(NOW) is counts


def test_a_client_at_its_cap_is_told_when_its_first_hold_ends():
    holds = [hold(3, -2, 7), hold(0.2, -0.1, 2.3), hold(0.5, 5, 9.5)]  # two count; the last does not
    refused = refusal(holds, 2, NOW)
    assert refused is not None and refused.status == 429
    assert refused.details["headers"] == {"Retry-After": "3"}  # 2.3 s, in whole seconds up
    assert "already has 2 queries running" in refused.message
    assert refusal(holds, 3, NOW) is None
    assert refusal(holds, 0, NOW) is None  # 0: no cap
    soon = refusal([hold(0.2, -0.1, 0.4)], 1, NOW)
    assert soon is not None and soon.details["headers"] == {"Retry-After": "1"}  # at least 1
    assert "already has 1 query running," in soon.message  # not "1 queries"
