"""The entity documents of a release, rendered on demand from what the build stored.

The build stores each entity once (docs/decisions/007-documents-at-scale.md): its document as
sorted N-Triples, and the few more triples its HTML page reads, as gzip members of
``docs/documents.nt.gz`` and ``docs/pages.nt.gz`` located by ``docs/entities.tsv``. Every document
name the release offers, ``docs/{kind}/{slug}.{ttl|jsonld|nt|rdf}``, ``docs/{kind}/{slug}.{lang}.html``
and the ``.gz`` of each, is rendered from those bytes here: the N-Triples and its gzip are the
stored bytes themselves; the others are serialised by the same code the build used to write
them as files (``kazdata.formats``, ``kazdata.entities.pages``). No Oxigraph store is needed.

Renderings are kept in a per-process LRU cache bounded in bytes, so a popular document costs one
dictionary lookup, and memory stays bounded however many entities the release has.
"""

from __future__ import annotations

import gzip
import hashlib
import mmap
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from kazdata.entities.description import EntityRef
from kazdata.entities.graph_view import GraphView
from kazdata.entities.pages import PageRenderer
from kazdata.entities.triples import TripleSet, parse_lines
from kazdata.formats import GRAPH_FORMATS, N_TRIPLES, Style
from kazdata.release.citation import Citation, citation_of

DOCUMENTS = "docs/documents.nt.gz"
PAGES = "docs/pages.nt.gz"
#: Rendered documents kept in memory per process and release.
CACHE_BYTES = 64 * 1024 * 1024
#: gzip level of documents compressed on demand (the N-Triples ones are stored compressed).
GZIP_LEVEL = 6


class EntityDocuments:
    """Every document name of the release's entities, and its bytes (rendered once, then cached)."""

    def __init__(self, directory: Path, base: str, entities: Mapping[str, dict], languages: list[str],
                 places: list[dict], style: Style) -> None:
        self.base = base
        self.entities = entities
        self.languages = languages
        self.places = places
        self.style = style
        self._packs = {name: _open_pack(directory / name) for name in (DOCUMENTS, PAGES)}
        self._directory = directory
        self._cache: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def parse_name(self, relative: str) -> tuple[EntityRef, str, str | None, bool] | None:
        """``docs/{kind}/{slug}[.{lang}].{ext}[.gz]`` -> (entity, extension, language, gzipped),
        or None when the release has no such document."""
        if not relative.startswith("docs/"):
            return None
        parts = relative[len("docs/"):].split("/")
        if len(parts) != 2:
            return None
        kind, name = parts
        gzipped = name.endswith(".gz")
        if gzipped:
            name = name[:-3]
        pieces = name.split(".")
        slug, language = pieces[0], None
        if len(pieces) == 3 and pieces[2] == "html" and pieces[1] in self.languages:
            extension, language = "html", pieces[1]
        elif len(pieces) == 2 and pieces[1] in GRAPH_FORMATS:
            extension = pieces[1]
        else:
            return None
        if f"{kind}/{slug}" not in self.entities:
            return None
        return EntityRef(kind, slug), extension, language, gzipped

    def has(self, relative: str) -> bool:
        return self.parse_name(relative) is not None

    def in_memory(self, relative: str) -> bool:
        """Whether ``get(relative)`` would answer from the cache, without rendering or reading:
        an event loop answers only such documents itself (``kazdata.web.rsgi``)."""
        return relative in self._cache

    def get(self, relative: str) -> tuple[bytes, str] | None:
        """(bytes, sha256 hex) of a document name, or None when there is no such document."""
        with self._lock:
            cached = self._cache.get(relative)
            if cached is not None:
                self._cache.move_to_end(relative)
                return cached
        parsed = self.parse_name(relative)
        if parsed is None:
            return None
        ref, extension, language, gzipped = parsed
        if gzipped and extension == N_TRIPLES.extension:
            data = self._member(DOCUMENTS, ref)  # stored compressed
        else:
            data = self._render(ref, extension, language)
            if gzipped:
                data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        result = (data, hashlib.sha256(data).hexdigest())
        with self._lock:
            if relative not in self._cache and len(data) <= CACHE_BYTES:
                self._cache[relative] = result
                self._cached_bytes += len(data)
                while self._cached_bytes > CACHE_BYTES:
                    _, (evicted, _digest) = self._cache.popitem(last=False)
                    self._cached_bytes -= len(evicted)
        return result

    def _member(self, pack: str, ref: EntityRef) -> bytes:
        key = "document" if pack == DOCUMENTS else "page"
        offset, length = self.entities[ref.path][key]
        return bytes(self._packs[pack][offset:offset + length])

    def ntriples(self, ref: EntityRef) -> bytes:
        """The entity's document as sorted N-Triples, exactly as the build stored it."""
        return gzip.decompress(self._member(DOCUMENTS, ref))

    def _render(self, ref: EntityRef, extension: str, language: str | None) -> bytes:
        document = self.ntriples(ref)
        if extension == N_TRIPLES.extension:
            return document
        triples = parse_lines([document])
        if extension != "html":
            return GRAPH_FORMATS[extension].serialize(triples, self.style)
        assert language is not None  # parse_name names every HTML document's language
        page = parse_lines([gzip.decompress(self._member(PAGES, ref))])
        view = GraphView(TripleSet(triples + page), self.base, places=self.places, languages=self.languages)
        return PageRenderer(view, self.style).entity_page(ref, triples, language, citation=self.citation).encode()

    @cached_property
    def citation(self) -> Citation | None:
        """How to cite the release, from its description, for the "Cite this release" block of
        every page (None for a release written before versions: its description cannot be cited)."""
        try:
            triples = list(ox.parse(path=str(self._directory / "void.nt"), format=ox.RdfFormat.N_TRIPLES))
            return citation_of(triples, f"{self.base}dataset")
        except (OSError, SyntaxError, ValueError):
            return None


def _open_pack(path: Path):
    """The pack's bytes, memory-mapped (shared by every worker process through the page cache)."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
