"""Settings as data: each setting once, with its default and help.

The one table drives the CLI flags (``--name``), the environment variables (``KAZDATA_NAME``),
the README's settings table and the test that every setting is documented. Nothing reads the
environment at import time: ``load_settings`` is called by the CLI or the app factory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kazdata.vocabulary import DEFAULT_BASE

#: Per production server: (web workers per core, at least this many; threads per worker).
#: granian: measured with bench/doc_rate.py (10^5 triples, 2 cores, 2026-11-28): /doc/ at 4x8
#: served 7,749 req/s with p99 14 ms, against 5,479 / 13.8 ms at 8x8 and 6,834 / 17.8 ms at 2x8;
#: 32 threads per worker raised p99 (20-27 ms): its I/O is asynchronous, so a thread is held only
#: while Python answers or a query waits for its query process.
#: gunicorn: four per core and 32 threads, because a slow client holds a gthread thread (with 4,
#: 16 slowloris connections took them all); chosen before queries moved to query processes.
SERVER_SHAPES = {"granian": (2, 2, 8), "gunicorn": (4, 4, 32)}


def _default_workers(server: str) -> int:
    per_core, at_least, _threads = SERVER_SHAPES[server]
    return max(at_least, per_core * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return "KAZDATA_" + self.name.upper().replace("-", "_")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _verification(value: str) -> str:
    """``quick``, ``full`` or ``off``; ``true`` and ``false`` (the flag's older values) mean quick and off."""
    level = {"true": "quick", "false": "off"}.get(value.strip().lower(), value.strip().lower())
    if level not in ("off", "quick", "full"):
        raise ValueError(f"verify must be quick, full or off, not {value!r}")
    return level


def _server(value: str) -> str:
    if value not in SERVER_SHAPES:
        raise ValueError(f"server must be granian or gunicorn, not {value!r}")
    return value


def _backend(value: str) -> str:
    if value not in ("memory", "disk", "remote"):
        raise ValueError(f"backend must be memory, disk or remote, not {value!r}")
    return value


def _default_query_processes() -> int:
    """Four per core: a query of death holds one until the time limit kills it, and cheap
    queries need free ones beside it (children of one store share it copy-on-write)."""
    return max(4, 4 * (os.cpu_count() or 1))


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "Interface to listen on."),
    Setting("port", 5000, "TCP port to listen on.", int),
    Setting("release", "release", "Release directory written by `kazdata build` and served by `kazdata serve`.", Path),
    Setting("base", DEFAULT_BASE, "Canonical base IRI of the dataset; entity IRIs are {base}id/{type}/{slug}."),
    Setting("server", "granian", "Production HTTP server: granian, or gunicorn (about 4x slower on /doc/; docs/decisions/005).", _server),
    Setting("workers", None, "Production-server worker processes (default: granian 2 per core, at least 2; gunicorn 4 per core, at least 4).", int),
    Setting("threads", None, "Python threads per worker process (default: granian 8; gunicorn 32, since a slow client holds one of its threads).", int),
    Setting("backend", "memory", "Where the triples live: memory (the dump loaded in memory), disk (the RocksDB store of a release built with --store, opened read-only) or remote (a SPARQL 1.1 endpoint, see --endpoint).", _backend),
    Setting("endpoint", None, "With --backend remote: the remote store's SPARQL query URL (load it with `kazdata load`)."),
    Setting("query_processes", None, "Query processes evaluating SPARQL beside the web workers (default: 4 per core, at least 4); 0 evaluates in the web workers' threads.", int),
    Setting("query_timeout", 10.0, "Longest a SPARQL query may run, in seconds; a client may ask for less with `timeout`.", float),
    Setting("query_memory", 2048, "Most memory one query process may allocate beyond the store it shares, in MB (a query past it gets a 503); 0 for no limit.", int),
    Setting("result_limit", 10000, "Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) one response returns; more is cut and flagged.", int),
    Setting("max_body", 1_000_000, "Largest request body accepted, in bytes.", int),
    Setting("service_allowlist", (), "Comma-separated endpoint IRIs that SPARQL SERVICE may call (default: none).", _csv),
    Setting("verify", "quick", "Check a release against its SHA256SUMS before serving it: quick (hash only the files changed since their bytes were last verified, by their stat), full (hash every file at every start) or off; true means quick.", _verification),
    Setting("sources", None, "Folder of curated source files (default: the bundled data/sources).", Path),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then environment variables, then explicit overrides (CLI flags), in that order.

    Raises ValueError naming the variable when an environment value does not parse.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        if setting.env in environ:
            try:
                value = setting.parse(environ[setting.env])
            except ValueError as error:
                raise ValueError(f"{setting.env}={environ[setting.env]!r}: {error}") from None
        values[setting.name] = value
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = value
    if values["workers"] is None:
        values["workers"] = _default_workers(values["server"])
    if values["threads"] is None:
        values["threads"] = SERVER_SHAPES[values["server"]][2]
    if values["query_processes"] is None:
        values["query_processes"] = _default_query_processes()
    if not values["base"].endswith("/"):
        raise ValueError(f"base {values['base']!r} must end with '/'")
    values["release"] = Path(values["release"])
    return values
