"""What the web layer computes once per served release and keeps beside it, bounded.

A release never changes, so whatever a response derives from it alone (the negotiation decided
for a set of request headers, the Last-Modified date, the dumps page, the OpenAPI document, the
service description) is computed on first use and kept until the release is switched: the
caches belong to the ``Served`` snapshot and go with it. Every keyed cache has a limit, so no
client can grow one by varying what it sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from email.utils import formatdate
from functools import cached_property
from typing import TYPE_CHECKING, Generic, TypeVar

from kazdata.http_contract import dumps_listing, published_checksums, sitemap
from kazdata.release.name_index import NAMES, NameIndex
from kazdata.release.opened import Release
from kazdata.release.search_index import SEARCH_INDEX, SearchIndex

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kazdata.web.documents import Choice

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``limit`` computed values of at most ``max_bytes`` all told (as ``size`` counts
    a key and its value); when full it starts afresh, since each value is cheap to compute again
    and a client varying its requests must not cost memory for long. A single entry larger
    than ``max_bytes / 16`` is computed and not kept."""

    def __init__(self, limit: int, max_bytes: int, size: Callable[[K, V], int]) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self._size = size
        self._values: dict[K, V] = {}
        self.bytes = 0

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        size = self._size(key, value)
        if size > self.max_bytes // 16:
            return value
        if len(self._values) >= self.limit or self.bytes + size > self.max_bytes:
            self._values.clear()
            self.bytes = 0
        if key not in self._values:
            self._values[key] = value
            self.bytes += size
        return value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        value = self._values.get(key)
        return value if value is not None else self.put(key, compute())

    def __len__(self) -> int:
        return len(self._values)


def _header_bytes(key: tuple, _value: object) -> int:
    """What a negotiation decision costs: its request headers (the Choice is shared, small)."""
    return 200 + sum(len(part) for part in key if part)


def _body_bytes(key: str, value: bytes) -> int:
    return len(key) + len(value)


class ReleaseCaches:
    """The per-release caches of one served release (see the module's docstring)."""

    #: distinct (suffix, Accept, Accept-Language, Accept-Encoding) decisions kept, and their bytes:
    #: real clients send a few short values; 400 distinct 300 kB Accept headers once kept 118 MB
    MAX_CHOICES = 1024
    MAX_CHOICE_BYTES = 1 << 20
    #: serialised service descriptions kept: one per format (the endpoint URL is a setting)
    MAX_SERVICE_DESCRIPTIONS = 16
    MAX_SERVICE_DESCRIPTION_BYTES = 16 << 20

    def __init__(self, release: Release) -> None:
        self.release = release
        self.choices: BoundedCache[tuple, Choice] = BoundedCache(self.MAX_CHOICES, self.MAX_CHOICE_BYTES,
                                                                 _header_bytes)
        self.service_descriptions: BoundedCache[str, bytes] = BoundedCache(
            self.MAX_SERVICE_DESCRIPTIONS, self.MAX_SERVICE_DESCRIPTION_BYTES, _body_bytes)
        self._lock = threading.Lock()
        self._once: dict[str, object] = {}

    @cached_property
    def http_date(self) -> str:
        """The release's Last-Modified as an HTTP date."""
        return formatdate(self.release.modified, usegmt=True)

    def sitemap(self, root: str) -> str:
        """/sitemap.xml under ``root``, the public URL (a setting, never the Host header): every
        entity, rendered once."""
        return self._computed_once("sitemap", lambda: sitemap(self.release, root))  # type: ignore[return-value]

    @cached_property
    def dumps_page(self) -> str:
        """The /dumps/ page: the dump files never change within a release."""
        return dumps_listing(self.release)

    @cached_property
    def name_index(self) -> NameIndex | None:
        """The release's close-match index (``kazdata.release.name_index``), mapped, not read;
        None for a release written before the build made one (its 404s list no matches)."""
        return NameIndex.open(self.release.directory / NAMES) if self.release.has(NAMES) else None

    def close_matches(self, wanted: str, limit: int) -> list[tuple[str, str]]:
        """Entities whose names resemble ``wanted``, in bounded work whatever the release's size."""
        index = self.name_index
        return index.close_matches(wanted, limit) if index is not None else []

    @cached_property
    def published_checksums(self) -> bytes:
        """/SHA256SUMS: the files sent as they are, by URL path (``http_contract.published_checksums``)."""
        return published_checksums(self.release).encode()

    def search_index(self) -> SearchIndex | None:
        """The release's search index (``docs/search.jsonl``), loaded on first use; None for a
        release built without one."""
        if not self.release.has(SEARCH_INDEX):
            return None
        return self._computed_once(  # type: ignore[return-value]
            "search", lambda: SearchIndex(self.release.read(SEARCH_INDEX).decode("utf-8")))

    def openapi(self, build: Callable[[], str]) -> str:
        """The OpenAPI document, built by ``build`` on first use."""
        return self._computed_once("openapi", build)  # type: ignore[return-value]

    def service_triples(self, build: Callable[[], list[ox.Triple]]) -> list[ox.Triple]:
        """The service description's triples with a placeholder endpoint, built on first use."""
        return self._computed_once("service-triples", build)  # type: ignore[return-value]

    def _computed_once(self, name: str, build: Callable[[], object]) -> object:
        value = self._once.get(name)
        if value is None:
            with self._lock:
                value = self._once.get(name)
                if value is None:
                    value = self._once[name] = build()
        return value
