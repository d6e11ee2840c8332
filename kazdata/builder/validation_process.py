"""SHACL validation in a process of its own, beside the other steps of the build.

The process is started before the build starts any thread or pool (``jobs.start_method``), and
its verdict comes back through a pipe, read without a helper thread: the build can then fork
its worker pools from a process that runs a single thread.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Self

from kazdata.builder.jobs import start_method
from kazdata.errors import ValidationFailed, ValidationLost
from kazdata.validation import validate_sources
from kazdata.validation.report import ValidationReport, once_each

Progress = Callable[[str], None]
#: How often a wait for the verdict checks that the validation process is still alive.
POLL_SECONDS = 0.5
#: How long the validation process has to end once it has sent its verdict, or is stopped.
EXIT_SECONDS = 10.0


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: on a shared machine, wall time
    alone does not say whether a step was slow or starved."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Validation:
    """``validate_sources`` in a child process, and what the build asks of it: whether it has
    already failed (between steps) and its verdict (before the release is published).

    ``live`` callbacks (picklable ones, such as ``stderr_progress``) print from the child as it
    goes; any other (a test's list) gets the child's lines when the verdict comes.
    """

    def __init__(self, source_paths: list[Path], progress: Progress, *, live: bool,
                 shapes_paths: list[Path] | None = None) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        self.report: ValidationReport | None = None
        self.error: BaseException | None = None  # the verdict, when it was an error: kept, as the report is
        context: Any = multiprocessing.get_context(start_method())
        self.verdict, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_validate, args=(source_paths, progress if live else None, sender, shapes_paths),
                                       name="kazdata-validation", daemon=True)
        self.process.start()
        sender.close()  # the child holds the only writer: its death ends the pipe

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        """Stop the child if it still runs (the build failed or was interrupted)."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(EXIT_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(EXIT_SECONDS)
        self.verdict.close()

    def raise_if_failed(self) -> None:
        if self.report is not None or self.error is not None or self.verdict.poll():
            self.wait()

    def wait(self) -> None:
        """Raise SourceError or ValidationFailed if the sources do not conform.

        May be called again (the build calls it between steps, before publishing, and once more
        when a step failed): it gives the same verdict each time. The pipe holds the verdict once,
        so an error received is kept like a report; reading the pipe again would find only its end,
        and the build then said "ended without a verdict" over the validation's own error.
        """
        if self.error is not None:
            raise self.error
        report = self.report
        if report is None:
            report, lines, cpu = self._receive()
            for line in lines:
                self.progress(line)
            self.progress(f"  validate with SHACL: done in {time.perf_counter() - self.started:.2f} s "
                          f"(CPU {cpu:.1f} s, worker processes included; beside the steps above)")
            for violation in once_each(report.violations):
                self.progress(str(violation))
            self.report = report
        if not report.conforms:
            violations = once_each(report.violations)
            count = sum(v.severity == "Violation" for v in violations)
            raise ValidationFailed(f"{count} shape violation(s); the release was not written",
                                   violations=violations)

    def _receive(self):
        """The child's ``(report, lines, cpu)``; its exception raised here if it failed."""
        while not self.verdict.poll(POLL_SECONDS):
            if not self.process.is_alive() and not self.verdict.poll():
                break  # recv then raises EOFError
        try:
            failed, value = self.verdict.recv()
        except EOFError:
            self.error = ValidationLost(f"the validation process ended without a verdict (exit code "
                                        f"{self.process.exitcode}); nothing was published")
            raise self.error from None
        self.process.join(EXIT_SECONDS)
        if failed:
            self.error = value
            raise value
        return value


def _validate(source_paths: list[Path], progress: Progress | None, verdict: Connection,
              shapes_paths: list[Path] | None = None) -> None:
    """In the validation process: send ``(False, (report, lines kept for the parent, CPU used))``
    or ``(True, the exception)``."""
    lines: list[str] = []
    cpu = cpu_seconds()
    message: tuple[bool, object]
    try:
        # one process (workers=1): the build's worker pool has the other cores; a helper loading the
        # union again beside it would only add CPU to the build (decision 008)
        report = validate_sources(source_paths, progress=progress or lines.append, shapes_paths=shapes_paths,
                                  workers=1)
        message = (False, (report, lines, cpu_seconds() - cpu))
    except Exception as error:  # noqa: BLE001 - not handled here: the parent raises it, details kept
        message = (True, _passable(error))
    verdict.send(message)
    verdict.close()


def _passable(error: Exception) -> Exception:
    """``error`` if it crosses to the parent whole, else a RuntimeError with its text: an error
    that does not pickle (or unpickle) would end this process with no verdict sent, and the build
    would report a lost validation instead of the reason."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception as failure:  # noqa: BLE001 - whatever stops it, the text still goes
        return RuntimeError(f"validation failed: {error!r} (its details could not be passed on: {failure})")
    return error
