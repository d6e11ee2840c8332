"""The kept releases as a server reads them: which exist, which was current when, what each holds.

Everything here is a lookup in what ``kazdata publish`` (``history.json``) and the builds
(``changes/summary.json``, each release's entity table) wrote; nothing is computed from the
data at request time. A server that serves a release outside any history has a history of one:
the release it serves.

Memento (RFC 7089) dates a release by its issue date at 00:00 UTC; the memento current at a
moment is the last one issued at or before it, and a moment before the first memento selects
the first (RFC 7089, section 4.1.1 leaves that choice to the server; the nearest is the useful
answer).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kazdata.errors import NotFound
from kazdata.http_contract import no_release_version
from kazdata.release.checksums import CHECKSUMS, file_digest
from kazdata.release.entity_index import EntityIndex
from kazdata.release.history import HISTORY_INDEX, KeptRelease, history_of, read_history
from kazdata.release.opened import Release

#: where a build against a previous release writes its change set (``kazdata.builder.changes``)
CHANGES = "changes"
CHANGE_SUMMARY = f"{CHANGES}/summary.json"
ENTITY_CHANGES = f"{CHANGES}/entities.tsv"


def history_stamp(release: Release) -> tuple:
    """What identifies the history around ``release``: its folder and ``history.json``'s stat."""
    folder = history_of(release.directory)
    if folder is None:
        return (release.directory,)
    stat = os.stat(folder / HISTORY_INDEX)
    return release.directory, stat.st_ino, stat.st_mtime_ns, stat.st_size


@dataclass
class KeptReleases:
    """The releases a server can answer for, oldest first, opened on first use."""

    served: Release
    entries: list[KeptRelease]
    folder: Path | None
    _opened: dict[str, Release] = field(default_factory=dict)
    _summaries: dict[str, dict | None] = field(default_factory=dict)
    _changes: dict[str, EntityIndex | None] = field(default_factory=dict)
    #: what the web layer rendered from one kept release (a change page), dropped with the history
    rendered: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def around(cls, served: Release) -> KeptReleases:
        folder = history_of(served.directory)
        entries = read_history(folder) if folder is not None else []
        if served.issued and served.version not in {entry.version for entry in entries}:
            entries = sorted([*entries, KeptRelease(date.fromisoformat(served.issued), served.version,
                                                    file_digest(served.directory / CHECKSUMS))])
        return cls(served, entries, folder)

    @property
    def versions(self) -> list[str]:
        return [entry.version for entry in self.entries]

    def entry(self, version: str) -> KeptRelease:
        """The kept release ``version``; NotFound listing the kept versions otherwise."""
        for entry in self.entries:
            if entry.version == version:
                return entry
        raise NotFound(no_release_version(version, self.versions), versions=self.versions)

    def open(self, version: str) -> Release:
        """The release ``version`` (the served one, or a kept one checked quickly on first use)."""
        self.entry(version)
        if version == self.served.version:
            return self.served
        release = self._opened.get(version)
        if release is None:
            assert self.folder is not None  # only the served release is kept without a folder
            release = self._opened[version] = Release(self.folder / version, verify="quick")
        return release

    def with_entity(self, path: str) -> list[KeptRelease]:
        """The releases in which the entity ``{kind}/{slug}`` exists, oldest first."""
        return [entry for entry in self.entries if self.open(entry.version).entities.get(path) is not None]

    def neighbours(self, chosen: KeptRelease, among: list[KeptRelease]) -> dict[str, KeptRelease]:
        """first, last, prev and next memento of ``chosen`` among ``among`` (RFC 7089 relation names)."""
        at = among.index(chosen)
        found = {"first memento": among[0], "last memento": among[-1]}
        if at > 0:
            found["prev memento"] = among[at - 1]
        if at + 1 < len(among):
            found["next memento"] = among[at + 1]
        return found

    def summary(self, version: str) -> dict | None:
        """The counts of the change set release ``version`` was built with, if it was built against another."""
        if version not in self._summaries:
            release = self.open(version)
            self._summaries[version] = json.loads(release.read(CHANGE_SUMMARY)) if release.has(CHANGE_SUMMARY) else None
        return self._summaries[version]

    def entity_changes(self, version: str) -> EntityIndex | None:
        """What release ``version`` changed, per entity (path -> status, triples added and removed)."""
        if version not in self._changes:
            summary, release = self.summary(version), self.open(version)
            self._changes[version] = (EntityIndex(release.directory / ENTITY_CHANGES, summary["entity_count"])
                                      if summary is not None and release.has(ENTITY_CHANGES) else None)
        return self._changes[version]


def select(mementos: list[KeptRelease], moment: datetime) -> KeptRelease:
    """The memento current at ``moment`` (module docstring); ``mementos`` oldest first, not empty."""
    current = [entry for entry in mementos if entry.moment <= moment]
    return current[-1] if current else mementos[0]
