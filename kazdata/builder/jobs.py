"""One pool of worker processes for every CPU-bound job of a build after the index.

The dumps (one job per format), the on-disk store and the entity documents (one job per chunk)
do not depend on each other, so they share one pool instead of running as steps one after the
other: a step whose last job runs alone no longer leaves a core idle (writing the dumps did so
for a third of its time on two cores). Jobs are started longest first; the chunks of entities,
many and short, come last and fill the gaps.

Workers are forked once the index is built and the jobs' inputs are set, so they read the
index without copying it; jobs are named by small picklable arguments (an extension, a list of
entity references). With one worker, or where ``fork`` is not available, the same jobs run in
this process, and the release is the same.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator


class Done:
    """A job run in this process: what ``AsyncResult.get`` returns, already there."""

    def __init__(self, value) -> None:
        self.value = value

    def get(self):
        return self.value


class InProcess:
    """The part of ``multiprocessing.Pool`` a build uses, running each job here."""

    def apply_async(self, job: Callable, args: tuple = ()) -> Done:
        return Done(job(*args))

    def map_async(self, job: Callable, items: Iterable, chunksize: int = 1) -> Done:
        return Done([job(item) for item in items])

    def imap(self, job: Callable, items: Iterable) -> Iterator:
        return map(job, items)

    def close(self) -> None:
        pass

    def join(self) -> None:
        pass

    def terminate(self) -> None:
        pass


def worker_pool(workers: int):
    """``workers`` forked processes, or ``InProcess`` for one (or without ``fork``)."""
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork").Pool(workers)
    return InProcess()
