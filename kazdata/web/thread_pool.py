"""A fixed set of threads that run blocking calls for an event loop and hand back each result.

``loop.run_in_executor`` with a ``ThreadPoolExecutor`` wraps every call in two futures and
their callbacks; under granian's RSGI worker, where every request but an in-memory document
crosses from the loop to a thread and back, that bookkeeping was a measurable share of a cheap
request (decision 022). Here a call is one queue entry and one ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any


class ThreadPool:
    """``size`` daemon threads, started at the first call (after granian has forked the worker)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._started = False

    def run(self, function: Callable, *args: Any, abandoned: Callable[[Any], None] | None = None) -> asyncio.Future:
        """``function(*args)`` on a pool thread; await the returned future for its result.

        A call goes on when its future is cancelled (a thread cannot be stopped); ``abandoned``
        is then given what it returns (None if it raised), in the loop, to close what nobody
        will take: a cancelled request's answer, for one.
        """
        if not self._started:
            self._started = True
            for number in range(self.size):
                threading.Thread(target=self._work, name=f"{self.name}-{number}", daemon=True).start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, function, args, abandoned))
        return future

    def _work(self) -> None:
        while True:
            loop, future, function, args, abandoned = self._jobs.get()
            try:
                result = function(*args)
            except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine, which raises it
                loop.call_soon_threadsafe(_settle, future, None, error, abandoned)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None, abandoned)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None,
            abandoned: Callable[[Any], None] | None) -> None:
    if future.cancelled():
        if abandoned is not None:
            abandoned(result if error is None else None)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
