"""One pool of worker processes for every CPU-bound job of a build after the index.

The dumps (one job per format), the on-disk store and the entity documents (one job per chunk)
do not depend on each other, so they share one pool instead of running as steps one after the
other: a step whose last job runs alone would leave a core idle. Jobs are started longest
first; the chunks of entities, many and short, come last and fill the gaps.

A job is a module-level function ``job(inputs, item)``: ``inputs`` are given to the pool once
(the index, the build's context), ``item`` names the job with a small picklable value (an
extension, a list of entity references). Workers are forked once the index is built, so they
read it without copying it, and only while this process runs no other thread: a fork copies
every lock as it is, and one held by another thread would stay held in the child for ever.
With one worker the jobs run in this process, and the release is the same.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult
from typing import Any, Self

Job = Callable[[Any, Any], Any]

_inputs: Any = None  # in a worker process: the inputs its pool was started with


def start_method() -> str:
    """``fork`` while this process runs a single thread; otherwise ``forkserver``, whose
    children start from a clean process (what they are given is pickled), or ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _keep(inputs: Any) -> None:
    global _inputs
    _inputs = inputs


def _call(job_and_item: tuple[Job, Any]) -> Any:
    job, item = job_and_item
    return job(_inputs, item)


class Done:
    """A job run in this process: what ``AsyncResult.get`` returns, already there."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        return self.value


class WorkerPool:
    """``workers`` processes sharing ``inputs`` (or this process alone, for one worker).

    A context manager: on an error the workers are terminated; otherwise the pool is closed
    and joined, unless that was done before.
    """

    def __init__(self, workers: int, inputs: Any) -> None:
        self.inputs = inputs
        self.pool = None
        if workers > 1:
            context = multiprocessing.get_context(start_method())
            self.pool = context.Pool(workers, initializer=_keep, initargs=(inputs,))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, error_type, *_exc) -> None:
        if self.pool is None:
            return
        if error_type is not None:
            self.pool.terminate()
        else:
            self.join()

    def apply_async(self, job: Job, item: Any) -> Done | AsyncResult:
        if self.pool is None:
            return Done(job(self.inputs, item))
        return self.pool.apply_async(_call, ((job, item),))

    def map_async(self, job: Job, items: Iterable) -> Done | AsyncResult:
        if self.pool is None:
            return Done([job(self.inputs, item) for item in items])
        return self.pool.map_async(_call, [(job, item) for item in items], chunksize=1)

    def imap(self, job: Job, items: Iterable) -> Iterator:
        if self.pool is None:
            return (job(self.inputs, item) for item in items)
        return self.pool.imap(_call, ((job, item) for item in items))

    def close(self) -> None:
        """No more jobs: the workers end once theirs are done."""
        if self.pool is not None:
            self.pool.close()

    def join(self, last: Done | AsyncResult | None = None) -> Any:
        """Wait for the workers to end (so that their CPU time counts as this process's
        children's); return the value of ``last``, a job's result, if given."""
        value = last.get() if last is not None else None
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        return value
