"""A query thread's priority is lowered from wherever the server runs, never set to a fixed value
that would raise it for a server started under ``nice``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

IN_A_NICED_PROCESS = """
import json, os, threading
from kazdata.sparql.backends.embedded import lower_priority
seen = {"before": os.getpriority(os.PRIO_PROCESS, 0)}
def query():
    lower_priority()
    seen["query"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
thread = threading.Thread(target=query)
thread.start()
thread.join()
seen["caller"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
print(json.dumps(seen))
"""


@pytest.mark.parametrize("niceness, expected", [(0, 10), (5, 15), (15, 19), (19, 19)])
def test_a_query_thread_is_lowered_relative_to_a_niced_server(niceness, expected):
    """``niceness`` and ``expected`` as seen from nice 0; a suite run under ``nice`` adds its own
    (``nice -n`` adds to the caller's, up to 19), so the test holds whatever it was started at."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    done = subprocess.run(["nice", "-n", str(niceness), sys.executable, "-c", IN_A_NICED_PROCESS], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen["before"] == seen["caller"] == min(19, own + niceness)  # the caller keeps its own priority
    assert seen["query"] == min(19, own + expected)
