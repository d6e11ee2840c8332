"""The query engine's limits, checked in-process against a real pyoxigraph store."""

from __future__ import annotations

import os
import threading
import time

import pyoxigraph as ox
import pytest

from kazdata.errors import QueryTimeout
from kazdata.query import QUERY_NICENESS, Engine, Policy, QueryRequest, _lower_priority

# about 11 million rows: a couple of seconds, so the abandoned thread does not burn the test run
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ {' '.join(str(j) for j in range(15))} }}" for i in range(6)) + " }"


def test_a_query_thread_runs_at_lower_priority_than_its_caller():
    seen = {}

    def in_thread():
        _lower_priority()
        seen["query"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen["query"] == QUERY_NICENESS > before
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_a_runaway_query_times_out_and_other_threads_keep_running():
    """pyoxigraph releases the GIL while evaluating, so the request thread is not blocked."""
    runaways = []
    engine = Engine(ox.Store(), {}, Policy(timeout=0.5, on_runaway=lambda: runaways.append(1)))
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        engine.query(QueryRequest(CROSS_PRODUCT))
    waited = time.monotonic() - started
    stop.set()
    thread.join()
    assert 0.4 < waited < 1.5
    assert len(ticks) > 20  # the other thread ran all along
    assert runaways == [1]  # past the operator's limit, the worker is told to go
