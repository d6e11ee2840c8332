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

from kazdata.http_contract import SITEMAP_ROOT, dumps_listing, published_checksums, sitemap
from kazdata.release.opened import Release

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kazdata.web.documents import Choice

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``limit`` computed values; when full it starts afresh, since each value is cheap
    to compute again and a client varying its requests must not cost memory for long."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = value
        return value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        value = self._values.get(key)
        return value if value is not None else self.put(key, compute())

    def __len__(self) -> int:
        return len(self._values)


class ReleaseCaches:
    """The per-release caches of one served release (see the module's docstring)."""

    #: distinct (suffix, Accept, Accept-Language, Accept-Encoding) decisions kept
    MAX_CHOICES = 1024
    #: serialised service descriptions kept: one per format and endpoint URL the clients used
    MAX_SERVICE_DESCRIPTIONS = 64

    def __init__(self, release: Release) -> None:
        self.release = release
        self.choices: BoundedCache[tuple, Choice] = BoundedCache(self.MAX_CHOICES)
        self.service_descriptions: BoundedCache[tuple[str, str], bytes] = BoundedCache(self.MAX_SERVICE_DESCRIPTIONS)
        self._lock = threading.Lock()
        self._once: dict[str, object] = {}

    @cached_property
    def http_date(self) -> str:
        """The release's Last-Modified as an HTTP date."""
        return formatdate(self.release.modified, usegmt=True)

    @cached_property
    def sitemap(self) -> str:
        """/sitemap.xml with ``SITEMAP_ROOT`` where the serving host goes: every entity, once."""
        return sitemap(self.release, SITEMAP_ROOT)

    @cached_property
    def dumps_page(self) -> str:
        """The /dumps/ page: the dump files never change within a release."""
        return dumps_listing(self.release)

    @cached_property
    def published_checksums(self) -> bytes:
        """/SHA256SUMS: the files sent as they are, by URL path (``http_contract.published_checksums``)."""
        return published_checksums(self.release).encode()

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
