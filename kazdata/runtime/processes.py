"""How the processes of ``kazdata serve`` hold on to each other: names, lineage, forked children.

Every process here is forked by the one that times it out, signals it and reaps it; nothing
signals a process by a pid it read from elsewhere. A pid stays ours until we reap it (the
kernel keeps an exited child as a zombie until then), so a child signalled only while unreaped
can never be a stranger that was handed its recycled pid.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

_PR_SET_PDEATHSIG = 1


def name_process(name: str) -> None:
    """Name this process in ``ps``, ``top`` and /proc/PID/comm (Linux; at most 15 characters),
    so an operator can tell the query processes from the web workers. Elsewhere: nothing."""
    try:
        with open(f"/proc/{os.getpid()}/comm", "w", encoding="ascii") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def end_with_parent(parent: int, signo: int) -> None:
    """Have the kernel send this process ``signo`` when ``parent`` dies (Linux only), so that a
    killed keeper or supervisor leaves nothing behind however it died."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signo, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signo)


def exit_status_soon(pid: int) -> int | None:
    """The wait status of a child whose control socket just closed, if it has exited within a
    few milliseconds (it closes the socket as it exits); None if not yet."""
    for _ in range(20):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        time.sleep(0.001)
    return None


class Forked:
    """A child this process forked: signalled only while it is unreaped, waited for with a timeout.

    Only the process that forked it may hold one, and nothing else in that process may reap
    with ``waitpid(-1)``: then ``signal`` cannot reach a stranger.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exitcode: int | None = None

    def poll(self) -> int | None:
        """The exit code once it has ended (reaping it), else None."""
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.exitcode = -1  # reaped elsewhere: never signal that pid again
                return self.exitcode
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)
        return self.exitcode

    def alive(self) -> bool:
        return self.poll() is None

    def signal(self, signo: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signo)  # unreaped, so the pid is still this child's

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to end; returns whether it has."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def end(self, grace: float) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds; reaps it."""
        self.signal(signal.SIGTERM)
        if not self.wait(grace):
            self.signal(signal.SIGKILL)
            self.wait(grace)
