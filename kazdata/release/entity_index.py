"""The entities of a release by path: a sorted table the server searches in place.

``docs/entities.tsv`` has one line per entity, sorted by the bytes of its path: the path
(``{kind}/{slug}``), a tab, and its index entry as one line of JSON (label, types, dates, the
offset and length of its two pack members; ``kazdata.builder.documents``). ``docs/release.json``
holds what is about the release as a whole: base, languages, kinds, graphs, places with
coordinates, and the number of entities.

A server opens the table with ``mmap`` and finds an entity by binary search over its lines,
parsing the one entry it needs: opening costs nothing at any size, where parsing a whole JSON
index took over a second per process at 10^6 triples (docs/decisions/007-documents-at-scale.md),
and worker processes share the table through the page cache. It stays plain text, so
``grep '^place/aktau	' docs/entities.tsv`` answers what the server would, and it is as
byte-reproducible as the rest of the release.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from pathlib import Path

ENTITIES = "docs/entities.tsv"
RELEASE_INFO = "docs/release.json"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def write_entity_index(release: Path, entries: list[dict], info: dict) -> None:
    """Write ``docs/entities.tsv`` (``entries``, each with its ``path``) and ``docs/release.json``
    (``info`` plus the kinds and the number of entities)."""
    lines = sorted(entry["path"].encode() + b"\t" + _json(entry).encode() + b"\n" for entry in entries)
    (release / ENTITIES).parent.mkdir(parents=True, exist_ok=True)
    (release / ENTITIES).write_bytes(b"".join(lines))
    info = {**info, "entity_count": len(entries), "kinds": sorted({entry["kind"] for entry in entries})}
    (release / RELEASE_INFO).write_bytes((_json(info) + "\n").encode())


class EntityIndex(Mapping[str, dict]):
    """path -> index entry (a dict), read from the memory-mapped ``docs/entities.tsv``.

    Lookups and ``in`` cost a binary search (log2 of the number of entities, in line reads); iterating
    goes through the lines in path order, so ``sorted(index)`` and ``list(index)`` agree.
    """

    def __init__(self, path: Path, count: int) -> None:
        self._count = count
        with path.open("rb") as handle:
            self._lines = (mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                           if path.stat().st_size else b"")

    def _find(self, key: bytes) -> tuple[int, int] | None:
        """(start of the entry's JSON, end of its line) for ``key``, or None."""
        lines, low, high = self._lines, 0, len(self._lines)
        while low < high:  # low and high are always at the start of a line (or the end)
            middle = (low + high) // 2
            start = max(lines.rfind(b"\n", low, middle) + 1, low)  # the line holding ``middle``
            end = lines.find(b"\n", start)
            tab = lines.find(b"\t", start, end)
            found = lines[start:tab]
            if found < key:
                low = end + 1
            elif found > key:
                high = start
            else:
                return tab + 1, end
        return None

    def __getitem__(self, path: str) -> dict:
        span = self._find(path.encode()) if isinstance(path, str) else None
        if span is None:
            raise KeyError(path)
        return json.loads(self._lines[span[0]:span[1]])

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and "\n" not in path and self._find(path.encode()) is not None

    def __len__(self) -> int:
        return self._count

    def _rows(self) -> Iterator[bytes]:
        data = self._lines[:]
        start = 0
        while start < len(data):
            end = data.index(b"\n", start)
            yield data[start:end]
            start = end + 1

    def __iter__(self) -> Iterator[str]:
        for row in self._rows():
            yield row[:row.index(b"\t")].decode()

    def values(self) -> ValuesView[dict]:
        return _Values(self)

    def items(self) -> ItemsView[str, dict]:
        return _Items(self)


class _Values(ValuesView[dict]):
    """The entries of an ``EntityIndex``, read in one pass over its lines, not a search per key."""

    def __init__(self, index: EntityIndex) -> None:
        super().__init__(index)
        self._index = index

    def __iter__(self) -> Iterator[dict]:
        for row in self._index._rows():
            yield json.loads(row[row.index(b"\t") + 1:])


class _Items(ItemsView[str, dict]):
    """The (path, entry) pairs of an ``EntityIndex``, read in one pass over its lines."""

    def __init__(self, index: EntityIndex) -> None:
        super().__init__(index)
        self._index = index

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        for row in self._index._rows():
            tab = row.index(b"\t")
            yield row[:tab].decode(), json.loads(row[tab + 1:])
