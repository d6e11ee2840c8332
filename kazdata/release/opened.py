"""A release as the server reads it: files, their checksums, the entity index, the documents.

The server only ever reads a release. Every file it may send is listed in ``SHA256SUMS``, which
doubles as the table of ETags and as the allow-list of paths: a request path that is not a key
of that table is not found, so no path can climb out of the release directory. Entity documents
(``docs/{kind}/{slug}.{ext}``) are not files: they are rendered from the packs the build stored
(``kazdata.release.document_packs``) for the entities of ``docs/entities.tsv``, and read through the same
``read``/``file``/``has`` as files are; their ETag is the SHA-256 of the bytes sent.

Opening a release reads ``SHA256SUMS`` and ``docs/release.json`` and maps the entity table
(``kazdata.release.entity_index``); how much of it is hashed first is the ``verify`` level
(``kazdata.release.checksums``). Nothing else is read until a request needs it, so a release of any size
opens in milliseconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from kazdata.entities.description import EntityRef
from kazdata.errors import NotFound, ReleaseError
from kazdata.formats import Style
from kazdata.release.checksums import (
    CHECKSUMS,
    file_digest,
    read_checksums,
    verify_files,
)
from kazdata.release.document_packs import EntityDocuments
from kazdata.release.entity_index import ENTITIES, RELEASE_INFO, EntityIndex
from kazdata.vocabulary import prefixes_for

#: Documents served from memory per release (the rest are read from disk on each request).
CACHE_BYTES = 256 * 1024 * 1024
#: the folder of the named graphs' files, ``{name}.{extension}`` (written by ``kazdata.builder.graphs``)
NAMED_GRAPHS = "graphs"
_VERSION_IRI = b"<http://www.w3.org/2002/07/owl#versionIRI>"
REQUIRED = ("dumps/kazdata.nq", "void.ttl", RELEASE_INFO, ENTITIES, "docs/documents.nt.gz", "docs/pages.nt.gz",
            "context.jsonld", "ontology.ttl")


def release_stamp(path: str | Path) -> tuple:
    """What identifies the release behind ``path`` (usually a symlink): its real path and the
    inode and mtime of its SHA256SUMS. A server compares stamps to notice a newly published release."""
    real = os.path.realpath(path)
    stat = os.stat(os.path.join(real, CHECKSUMS))
    return real, stat.st_ino, stat.st_mtime_ns


@dataclass(frozen=True)
class ReleaseFile:
    """A file of the release with what HTTP needs to send it."""

    path: Path | None  # None for an entity document, which is rendered, not stored as a file
    relative: str
    digest: str

    @property
    def etag(self) -> str:
        return self.digest[:32]


class Release:
    """An immutable release directory, opened once per server process."""

    def __init__(self, directory: Path, *, verify: str = "off") -> None:
        """Open ``directory``; ``verify`` is ``off``, ``quick`` or ``full`` (``kazdata.release.checksums``).

        Raises ReleaseError when it is not a release, lacks a required file, or (when verified)
        a listed file is missing, truncated or does not match its checksum.
        """
        self.directory = Path(directory).resolve()  # Flask resolves relative paths against the package
        if not (self.directory / CHECKSUMS).is_file():
            raise ReleaseError(f"{self.directory} is not a kazdata release: it has no {CHECKSUMS} "
                               f"(build one with `kazdata build {self.directory}`)")
        self.digests = read_checksums(self.directory)
        missing = [name for name in REQUIRED if name not in self.digests]
        if missing:
            raise ReleaseError(f"{self.directory} is incomplete: missing {', '.join(missing)} (a release "
                               f"written by an older kazdata lacks them too: build it again with "
                               f"`kazdata build {self.directory}`)")
        #: the files this opening hashed (those not vouched for by the verification record)
        self.hashed: list[str] = verify_files(self.directory, self.digests, verify)
        info = json.loads((self.directory / RELEASE_INFO).read_bytes())
        self.base: str = info["base"]
        self.languages: list[str] = info["languages"]
        self.kinds: list[str] = info["kinds"]
        self.entities = EntityIndex(self.directory / ENTITIES, info["entity_count"])
        self.graphs: list[str] = info["graphs"]
        self.examples: list[dict] = [self._example(name) for name in sorted(self.digests)
                                     if name.startswith("queries/") and name.endswith(".rq")]
        self.modified = os.stat(self.directory / CHECKSUMS).st_mtime
        #: the release's version and issue date as its description states them; a release from
        #: before versions is named by its content address and has no date
        self.version: str = info.get("version") or self.digests["dumps/kazdata.nq"][:12]
        self.issued: str | None = info.get("issued")
        self._cache: dict[str, bytes] = {}
        #: what a server derives from this release once (e.g. the service description); it is
        #: dropped with the release when a new one is switched in
        self._cached_bytes = 0
        self._places = info["places"]

    @cached_property
    def documents(self) -> EntityDocuments:
        """The entity documents, set up on first use (it needs the context and the renderers)."""
        return EntityDocuments(self.directory, self.base, self.entities, self.languages,
                               self._places, Style(prefixes_for(self.base), self.context))

    def _example(self, relative: str) -> dict:
        """An example query: its file stem, the English question on its first line, its text."""
        text = (self.directory / relative).read_text(encoding="utf-8")
        first = text.splitlines()[0] if text else ""
        question = first[1:].strip() if first.startswith("#") else relative
        return {"name": Path(relative).stem, "question": question, "query": text}

    def file(self, relative: str) -> ReleaseFile:
        """The file or entity document at ``relative``; NotFound unless the release has it."""
        digest = self.digests.get(relative)
        if digest is not None:
            return ReleaseFile(self.directory / relative, relative, digest)
        document = self.documents.get(relative)
        if document is None:
            raise NotFound(f"no such file in this release: {relative}")
        return ReleaseFile(None, relative, document[1])

    def read(self, relative: str) -> bytes:
        """The bytes of a listed file (kept in memory up to ``CACHE_BYTES`` per release) or of
        an entity document (rendered once, then cached by ``EntityDocuments``)."""
        if relative not in self.digests:
            document = self.documents.get(relative)
            if document is None:
                raise NotFound(f"no such file in this release: {relative}")
            return document[0]
        cached = self._cache.get(relative)
        if cached is not None:
            return cached
        data = (self.directory / relative).read_bytes()  # a listed file: self.file(relative).path
        if self._cached_bytes + len(data) <= CACHE_BYTES:
            self._cache[relative] = data
            self._cached_bytes += len(data)
        return data

    def variant(self, file: ReleaseFile, gzip_ok: bool) -> tuple[ReleaseFile, str | None]:
        """The precomputed ``.gz`` copy of ``file`` and its Content-Encoding when the client
        accepts gzip and the build wrote one; otherwise ``file`` itself."""
        if gzip_ok and self.has(file.relative + ".gz"):
            return self.file(file.relative + ".gz"), "gzip"
        return file, None

    def has(self, relative: str) -> bool:
        return relative in self.digests or self.documents.has(relative)

    def entity(self, kind: str, slug: str) -> dict:
        entry = self.entities.get(f"{kind}/{slug}")
        if entry is None:
            raise NotFound(f"there is no entity {kind}/{slug} in this dataset", kind=kind, slug=slug)
        return entry

    def entity_file(self, ref: EntityRef, extension: str, language: str | None = None) -> ReleaseFile:
        return self.file(entity_relative(ref, extension, language))

    def in_memory(self, relative: str) -> bool:
        """Whether ``file`` and ``read`` of ``relative`` need neither the disk nor a render."""
        if relative in self.digests:
            return relative in self._cache
        return self.documents.in_memory(relative)

    @cached_property
    def dump_checksums(self) -> str:
        """SHA256SUMS for the dumps alone, with paths relative to ``dumps/`` (for ``sha256sum -c``)."""
        return "".join(f"{digest}  {name[len('dumps/'):]}\n" for name, digest in sorted(self.digests.items())
                       if name.startswith("dumps/"))

    @cached_property
    def checksums_file(self) -> ReleaseFile:
        """SHA256SUMS itself, which does not list itself, with its digest computed once."""
        path = self.directory / CHECKSUMS
        return ReleaseFile(path, CHECKSUMS, file_digest(path))

    @cached_property
    def ontology_versions(self) -> frozenset[str]:
        """The ontology's ``owl:versionIRI`` values, which the server answers with the ontology."""
        lines = self.read("ontology.nt").splitlines() if self.has("ontology.nt") else []
        return frozenset(line.split(b" ", 2)[2].rsplit(b" .", 1)[0].strip()[1:-1].decode()
                         for line in lines if line.split(b" ", 2)[1:2] == [_VERSION_IRI])

    @cached_property
    def context(self) -> dict:
        """The release's published JSON-LD context (the object inside ``@context``)."""
        return json.loads(self.read("context.jsonld"))["@context"]

    def load_store(self) -> ox.Store:
        """An in-memory Oxigraph store of the release: one named graph per source and the ontology."""
        store = ox.Store()
        store.bulk_load(path=str(self.directory / "dumps" / "kazdata.nq"), format=ox.RdfFormat.N_QUADS)
        return store


@dataclass(frozen=True)
class OpenedRelease:
    """A release opened (and verified) once, with the stamp it was opened at.

    ``kazdata serve`` opens and verifies the release it starts with once, and its forks (the
    query supervisor, gunicorn's master and workers) reuse that object instead of opening and
    verifying it again each (decision 007).
    """

    stamp: tuple
    release: Release

    @classmethod
    def open(cls, path: Path, verify: str) -> OpenedRelease:
        stamp = release_stamp(path)
        return cls(stamp, Release(Path(stamp[0]), verify=verify))


def open_release(stamp: tuple, verify: str, opened: OpenedRelease | None = None) -> Release:
    """The release behind ``stamp`` for a serving process: ``opened`` if it is that release,
    else opened here and verified at level ``verify``."""
    if opened is not None and opened.stamp == stamp:
        return opened.release
    return Release(Path(stamp[0]), verify=verify)


def entity_relative(ref: EntityRef, extension: str, language: str | None = None) -> str:
    """The release name of an entity's document in a format (and page language)."""
    suffix = f".{language}.{extension}" if language else f".{extension}"
    return f"docs/{ref.path}{suffix}"
