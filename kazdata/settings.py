"""Settings as data: the fields of ``Settings`` are the one table of settings.

Each field carries its help text and parser, and from it come the CLI flags (``--name``), the
environment variables (``KAZDATA_NAME``), the README's settings table (``settings_table``, tested
equal to the README word for word) and the values a server runs with. Nothing reads the
environment at import time: ``load_settings`` is called by the CLI or the app factory. Allowed
values come from the registries that own them (HTTP servers, backends, verification levels).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kazdata.vocabulary import DEFAULT_BASE


@dataclass(frozen=True)
class Setting:
    """One row of the table: what the CLI, the environment and the README need to know."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any]
    shown_default: str  # as the README and ``--help`` print it

    @property
    def env(self) -> str:
        return "KAZDATA_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _setting(default: Any, help: str, parse: Callable[[str], Any] = str, shown: str | None = None) -> Any:
    shown = shown if shown is not None else ("none" if default in (None, ()) else f"`{default}`")
    return field(default=default, metadata={"help": help, "parse": parse, "shown": shown})


def _server(value: str) -> str:
    from kazdata.runtime.http_servers import HTTP_SERVERS
    if value not in HTTP_SERVERS:
        raise ValueError(f"server must be one of {', '.join(HTTP_SERVERS)}, not {value!r}")
    return value


def _backend(value: str) -> str:
    from kazdata.sparql.backends import BACKENDS
    if value not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {value!r}")
    return value


def _verification(value: str) -> str:
    """A level of ``kazdata.release.checksums.LEVELS``; ``true`` and ``false`` (the flag's older
    values) mean quick and off."""
    from kazdata.release.checksums import LEVELS
    level = {"true": "quick", "false": "off"}.get(value.strip().lower(), value.strip().lower())
    if level not in LEVELS:
        raise ValueError(f"verify must be one of {', '.join(LEVELS)}, not {value!r}")
    return level


def _boolean(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if value.strip().lower() not in words:
        raise ValueError(f"{value!r} is not true or false")
    return words[value.strip().lower()]


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _whole(low: int, high: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
    """A parser of whole numbers from ``low`` to ``high``, whose error says the range: the table
    checks a value where it is read, so a server never starts with one it cannot use."""
    def parse(value: str | int) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not {what}") from None
        if number < low or (high is not None and number > high):
            raise ValueError(f"{number} is out of range: {what} from {low}" + (f" to {high}" if high else " up"))
        return number
    return parse


def _seconds(value: str | float) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{value!r} is not a positive number of seconds")
    return number


def _access_log(value: str) -> str | None:
    """``-`` for standard output, a file path, or ``off``/empty for none."""
    value = value.strip()
    return None if value.lower() in ("", "off", "none") else value


def _base(value: str) -> str:
    if not value.endswith("/"):
        raise ValueError(f"base {value!r} must end with '/'")
    return value


def _default_query_processes() -> int:
    """Four per core: a query of death holds one until the time limit kills it, and cheap
    queries need free ones beside it (children of one store share it copy-on-write)."""
    return max(4, 4 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    """What an operator chooses; immutable once loaded. ``None`` in ``workers``, ``threads`` and
    ``query_processes`` means the chosen server's or the machine's default, resolved on creation."""

    host: str = _setting("127.0.0.1", "Interface to listen on.")
    port: int = _setting(5000, "TCP port to listen on (1-65535); `kazdata serve` refuses one that is taken.",
                         _whole(1, 65535, "a TCP port"))
    release: Path = _setting(Path("release"), "Release directory written by `kazdata build` and served by "
                             "`kazdata serve`.", Path, shown="`release`")
    base: str = _setting(DEFAULT_BASE, "Canonical base IRI (used by the build; the server serves the "
                         "release's own base).", _base)
    server: str = _setting("granian", "Production HTTP server: `granian` (its WSGI interface), `granian-rsgi` "
                           "(its RSGI interface through kazdata's bridge, where request bodies have the "
                           "`--body-timeout` deadline; slower on queries, decision 022), or `gunicorn` "
                           "(about 4x slower on `/doc/`; decision 005).", _server)
    workers: int = _setting(None, "Production-server worker processes.", _whole(1),
                            shown="granian: 2 per core, at least 2; gunicorn: 4 per core, at least 4")
    threads: int = _setting(None, "Python threads per worker process (under gunicorn a slow client holds "
                            "one, so keep plenty).", _whole(1), shown="granian: `8`; gunicorn: `32`")
    backend: str = _setting("memory", "Where the triples live: `memory` (the dump loaded in memory), `disk` "
                            "(the RocksDB store of a release built with `--store`, opened read-only), "
                            "`remote` (a SPARQL 1.1 endpoint).", _backend)
    endpoint: str | None = _setting(None, "With `--backend remote`: the remote store's SPARQL query URL.")
    union_default_graph: bool = _setting(False, "With `--backend remote`: the store's default graph is already "
                                         "the union of the release's graphs (Oxigraph `--union-default-graph`, "
                                         "Fuseki `unionDefaultGraph`; Virtuoso's holds its system graphs too, "
                                         "decision 019), so a query naming no dataset is sent as it is instead "
                                         "of with every graph as a `default-graph-uri`, except while a staged "
                                         "`kazdata load` is under way. The store must then hold this release "
                                         "only.",
                                         _boolean, shown="`false`")
    store_credentials: Path | None = _setting(None, "A file holding `USER:PASSWORD` (first line) for the "
                                              "store's write endpoints, sent by `kazdata load` when the store "
                                              "asks (HTTP Digest or Basic); a file, so that no password is "
                                              "ever on a command line.", Path)
    query_processes: int = _setting(None, "Query processes evaluating SPARQL beside the web workers. `0` "
                                    "evaluates in the web workers' threads, where a runaway query cannot be "
                                    "killed: development only, refused unless with `--dev`.", _whole(0),
                                    shown="4 per core, at least 4")
    query_timeout: float = _setting(10.0, "Longest a SPARQL query may run, in seconds; a client may ask for "
                                    "less with `timeout`.", _seconds, shown="`10`")
    query_memory: int = _setting(2048, "Most memory one query process may allocate beyond the store it "
                                 "shares, in MB (a query past it gets a `503`); `0` for no limit.", _whole(0))
    queries_per_client: int = _setting(None, "Most SPARQL queries one client address may have holding a query "
                                       "process, counted over the whole server by the query supervisor: a query "
                                       "counts once it has run 1 s, or once its client gave up on it, until its "
                                       "process is free; more get `429` with `Retry-After`. With a remote store, "
                                       "counted in each web worker. `0` for no cap.", _whole(0),
                                       shown="half the query processes, at least 1")
    result_limit: int = _setting(10000, "Most rows or triples one SPARQL response returns; more is cut and "
                                 "flagged.", _whole(1))
    result_bytes: int = _setting(32_000_000, "Most bytes one SPARQL result keeps, whatever format it is sent "
                                 "in: counted as the query process writes it, as SPARQL TSV lines (a "
                                 "`SELECT`) or N-Triples lines (a `CONSTRUCT`/`DESCRIBE`), each row's terms "
                                 "with their tabs and line end (a remote store's rows: their terms in "
                                 "N-Triples form); more is cut between rows and flagged like "
                                 "`--result-limit`.", _whole(1))
    max_body: int = _setting(1_000_000, "Largest request body accepted, in bytes.", _whole(1))
    body_timeout: float = _setting(10.0, "Longest a request body may take to arrive, in seconds; a slower one "
                                   "gets `408` and its connection is closed. Under gunicorn and `granian-rsgi`; "
                                   "granian's WSGI interface reads bodies where no Python code can time them "
                                   "out, so there slow bodies are bounded by number instead (at most half a "
                                   "worker's threads; decisions 013 and 022).",
                                   _seconds)
    public_url: str | None = _setting(None, "The site's public URL (ending in `/`), for the absolute URLs a "
                                      "response carries (the sitemap, the service description's endpoint); "
                                      "the `Host` header is never used for them, and redirects are "
                                      "host-relative.", _base, shown="the release's base IRI")
    service_allowlist: tuple[str, ...] = _setting((), "Comma-separated endpoint IRIs that SPARQL `SERVICE` "
                                                  "may call.", _csv)
    verify: str = _setting("quick", "Check a release against its `SHA256SUMS` before serving it; a missing, "
                           "truncated or modified file is refused. `quick` hashes only the files whose "
                           "inode, size or times changed since their bytes were last verified (the build, "
                           "`kazdata publish` and any hashing record them in `.NAME.verified` beside the "
                           "release); `full` hashes every file at every start; `off` checks nothing. "
                           "`true`/`false` mean `quick`/`off`.", _verification)
    sources: Path | None = _setting(None, "Folder of curated source files read by `kazdata build` and "
                                    "`kazdata validate`; without it, `data/sources` in the current folder if "
                                    "there is one, else the copy installed with kazdata (each run prints which).",
                                    Path, shown="`./data/sources`, else the installed copy")
    access_log: str | None = _setting(None, "Where `kazdata serve` writes one line per request in the Common "
                                      "Log Format: `-` for standard output, or a file. Errors (5xx, killed "
                                      "queries, refused releases) are logged to standard error either way.",
                                      _access_log, shown="off")

    def __post_init__(self) -> None:
        from kazdata.runtime.http_servers import HTTP_SERVERS
        server = HTTP_SERVERS[_server(self.server)]
        derived = {"workers": server.default_workers(), "threads": server.threads,
                   "query_processes": _default_query_processes()}
        for name, value in derived.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.queries_per_client is None:  # one client can hold at most half the query processes
            share = self.query_processes or self.threads  # (in-process queries: half a worker's threads)
            object.__setattr__(self, "queries_per_client", max(1, share // 2))
        object.__setattr__(self, "release", Path(self.release))
        _base(self.base)

    def exported(self) -> dict[str, str]:
        """The settings as ``KAZDATA_*`` environment variables, for worker processes that load
        them again with ``load_settings`` (granian's workers do)."""
        values = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is not None:
                values[setting.env] = ",".join(value) if isinstance(value, tuple) else str(value)
        return values


#: the table, in the order of the fields
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], f.metadata["parse"], f.metadata["shown"])
    for f in fields(Settings))
_BY_NAME = {setting.name: setting for setting in SETTINGS}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then environment variables, then explicit overrides (CLI flags), in that order;
    an override of ``None`` leaves the value as it was.

    Raises ValueError naming the variable when an environment value does not parse, KeyError for
    an unknown setting.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.env in environ:
            try:
                values[setting.name] = setting.parse(environ[setting.env])
            except ValueError as error:
                raise ValueError(f"{setting.env}={environ[setting.env]!r}: {error}") from None
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = value
    return Settings(**values)


def settings_table() -> str:
    """The README's settings table, in Markdown."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{s.flag}` | `{s.env}` | {s.shown_default} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"
