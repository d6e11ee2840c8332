"""Waiting on what a test can observe of a process, instead of sleeping and hoping.

A sleep long enough on a quiet machine is too short on a loaded one, and too long everywhere
else; these wait for the condition itself, up to a deadline, and say what they waited for.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Return as soon as ``condition()`` is true; fail the test naming ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (an unreaped zombie has ended)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def is_stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` has stopped (SIGSTOP). A stop is not done when ``kill``
    returns: one thread is woken to take it and stops the others, and on a loaded machine that
    thread may wait for a CPU while the others go on (Virtuoso answered a query so)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        states = [Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()[0] for task in tasks]
    except OSError:
        return False
    return bool(states) and all(state in ("T", "t") for state in states)


def cpu_seconds(pid: int) -> float:
    """The CPU time ``pid`` has used so far (user and system), 0 once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen, seconds: float) -> None:
    """Ask ``process`` to end (SIGTERM), and kill it if it has not within ``seconds``: a server
    that ignores its SIGTERM must not outlive the test that started it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class OutputLines:
    """The lines a process writes to its piped output, read as they come by a thread: a test can
    wait for a line while the process runs, instead of reading the pipe once it has ended and
    hoping the line was written before the stop (a log line written a moment after the answer
    it follows is not)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.decode(errors="replace"))

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def whole(self, seconds: float = 10) -> str:
        """Everything written, once the process has closed its output (call after stopping it)."""
        self._thread.join(seconds)
        return "".join(self.lines)
