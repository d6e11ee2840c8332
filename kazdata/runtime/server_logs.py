"""What ``kazdata serve`` logs: errors always, each request only when ``--access-log`` asks.

Errors (a 5xx, a query killed at its limit, a release refused at a switch) go to standard error
through the ``kazdata`` logger, one line each with a timestamp, whatever the access-log setting.
The access log is the Common Log Format (``host ident user [time] "request" status bytes``),
which every log analyser reads: gunicorn writes it itself (``GUNICORN_COMMON_LOG_FORMAT``);
granian's access logger hands over a dict of its own atoms, which ``CommonLogFormatter`` puts
in that order. Granian does not report the response size, so its lines end in ``-``, which the
format allows.

Granian also warns at start that 2 workers per core and 8 threads each are more than the cores;
those values were measured to be faster for this app (decision 005), so its two warnings are
replaced by one line of kazdata's own (``shape_note``).
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from typing import Any

#: granian's warnings about workers and threads against cores, which ``shape_note`` replaces
GRANIAN_CORE_WARNINGS = ("Configured number of workers appears to be higher",
                         "Configuration allows spawning up to")
ERROR_FORMAT = "%(asctime)s kazdata %(levelname)s %(name)s: %(message)s"


class CommonLogFormatter(logging.Formatter):
    """Granian's access record (``record.args`` holds its atoms) as a Common Log Format line."""

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, dict) else {}
        # the time the line is written (the response's end), not granian's ``time`` atom:
        # parsing that back costs more than the rest of the line
        when = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(record.created))
        target = str(atoms.get("path", "-")) + (f"?{atoms['query_string']}" if atoms.get("query_string") else "")
        return (f'{atoms.get("addr", "-")} - - [{when}] '
                f'"{atoms.get("method", "-")} {target} {atoms.get("protocol", "-")}" {atoms.get("status", "-")} -')


class DropCoreWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(GRANIAN_CORE_WARNINGS)


def granian_logging(access_log: str | None) -> dict:
    """Granian's own logging configuration with the access log sent where ``access_log`` says
    (``-``: standard output) in the Common Log Format, and its core warnings dropped."""
    from granian.log import LOGGING_CONFIG
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"core_warnings": {"()": DropCoreWarnings}}
    config["handlers"]["console"]["filters"] = ["core_warnings"]
    config["formatters"]["access"] = {"()": CommonLogFormatter}
    if access_log not in (None, "-"):
        config["handlers"]["access"] = {"formatter": "access", "class": "logging.FileHandler",
                                        "filename": str(access_log)}
    return config


def log_errors() -> None:
    """Send the ``kazdata`` loggers' warnings and errors to standard error with a timestamp;
    the processes ``kazdata serve`` forks inherit it."""
    logger = logging.getLogger("kazdata")
    if not any(getattr(handler, "kazdata_errors", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(ERROR_FORMAT))
        handler.kazdata_errors = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def shape_note(server: str, workers: int, threads: int) -> str | None:
    """One line saying why a granian shape above the core count is meant, or None."""
    cores = os.cpu_count() or 1
    if server != "granian" or (workers <= cores and threads <= 2 * cores + 1):
        return None
    return (f"kazdata: {workers} workers x {threads} threads on {cores} cores is meant: measured faster than "
            "one worker per core for this app (docs/decisions/005); --workers and --threads change it")
