"""Close matches for a name that was not found, from an index written into the release.

An HTML 404 suggests entities whose label or slug resembles the missing path. Comparing the
wanted name with every name of the release (``difflib.get_close_matches`` did) cost 2.6-5.7 s
of CPU per 404 at 10^6 triples (issue 15). The build writes ``docs/names.idx``
(``write_name_index``): every name with the entity it leads to, and a table from each character
trigram to the names holding it, sorted, with fixed-width rows. A server maps the file
(``NameIndex.open``: nothing is parsed or built, whatever the release's size, and the worker
processes share its pages) and a lookup takes the wanted name's rarest trigrams
(``MAX_TRIGRAMS``, each found by binary search and read only while it is held by at most
``MAX_POSTINGS`` names: a trigram every name has tells nothing), keeps the ``MAX_CANDIDATES``
names sharing most of them, and ranks only those with difflib's ratio. So one 404 reads at most
``MAX_TRIGRAMS * MAX_POSTINGS`` postings and compares ``MAX_CANDIDATES`` strings.

The file, all integers unsigned 32-bit little-endian: ``MAGIC``; the numbers of names and of
trigrams; ``names + 1`` offsets into the records, then the records (``name NUL path NUL
label``, UTF-8); the trigrams (``GRAM_BYTES`` of UTF-8 padded with NUL, first posting, number of
postings), sorted by those bytes; then the postings (name numbers), trigram after trigram.
"""

from __future__ import annotations

import difflib
import mmap
import struct
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

#: the index's place in a release
NAMES = "docs/names.idx"
MAGIC = b"kazdata-names-1\n"
#: a trigram of three characters of up to four UTF-8 bytes each, padded
GRAM_BYTES = 12
_COUNTS = struct.Struct("<II")
_GRAM = struct.Struct(f"<{GRAM_BYTES}sII")
#: longest part of the wanted name that is looked at
MAX_WANTED = 64
#: trigrams of the wanted name looked up, rarest first
MAX_TRIGRAMS = 24
#: a trigram held by more names than this is skipped
MAX_POSTINGS = 4000
#: names ranked by similarity per lookup
MAX_CANDIDATES = 64


def trigrams(name: str) -> set[str]:
    padded = f"  {name} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def names_of(entities: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The names of ``(path, English label)`` pairs: the label in lower case and the slug's
    words, each -> (path, label)."""
    names: dict[str, tuple[str, str]] = {}
    for path, label in entities:
        names[label.lower()] = (path, label)
        names[path.rsplit("/", 1)[-1].replace("-", " ")] = (path, label)
    return names


def write_name_index(path: Path, names: Mapping[str, tuple[str, str]]) -> None:
    """Write the index of ``names`` (name -> (path, label)) to ``path``, byte-reproducibly
    (names in order); a name, path or label holding NUL is left out."""
    ordered = sorted(name for name, target in names.items() if "\0" not in name + target[0] + target[1])
    records = [f"{name}\0{names[name][0]}\0{names[name][1]}".encode() for name in ordered]
    postings: dict[bytes, list[int]] = {}
    for number, name in enumerate(ordered):
        for gram in trigrams(name):
            postings.setdefault(gram.encode(), []).append(number)
    offsets, position = [], 0
    for record in records:
        offsets.append(position)
        position += len(record)
    offsets.append(position)
    parts = [MAGIC, _COUNTS.pack(len(ordered), len(postings)), struct.pack(f"<{len(offsets)}I", *offsets), *records]
    first = 0
    keys = sorted(postings)
    for key in keys:
        parts.append(_GRAM.pack(key, first, len(postings[key])))
        first += len(postings[key])
    for key in keys:
        parts.append(struct.pack(f"<{len(postings[key])}I", *postings[key]))
    path.write_bytes(b"".join(parts))


class NameIndex:
    """The index written by ``write_name_index``, read in place (module docstring)."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        if data[:len(MAGIC)] != MAGIC:
            raise ValueError("not a kazdata name index")
        self._data = data
        self.size, self._grams = _COUNTS.unpack_from(data, len(MAGIC))
        self._offsets = len(MAGIC) + _COUNTS.size
        self._records = self._offsets + 4 * (self.size + 1)
        self._table = self._records + self._unpack_one(self._offsets + 4 * self.size)
        self._postings_at = self._table + _GRAM.size * self._grams

    @classmethod
    def open(cls, path: Path) -> NameIndex:
        with path.open("rb") as handle:
            return cls(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))

    def _unpack_one(self, at: int) -> int:
        return struct.unpack_from("<I", self._data, at)[0]

    def name(self, number: int) -> tuple[str, str, str]:
        """(name, path, label) of name ``number``."""
        start, end = struct.unpack_from("<II", self._data, self._offsets + 4 * number)
        name, path, label = bytes(self._data[self._records + start:self._records + end]).decode().split("\0")
        return name, path, label

    def _postings(self, gram: str) -> tuple[int, ...]:
        """The numbers of the names holding ``gram`` (a binary search of the trigram table)."""
        key = gram.encode().ljust(GRAM_BYTES, b"\0")
        low, high = 0, self._grams
        while low < high:
            middle = (low + high) // 2
            found, first, count = _GRAM.unpack_from(self._data, self._table + _GRAM.size * middle)
            if found == key:
                if count > MAX_POSTINGS:
                    return ()
                return struct.unpack_from(f"<{count}I", self._data, self._postings_at + 4 * first)
            if found < key:
                low = middle + 1
            else:
                high = middle
        return ()

    def candidates(self, wanted: str) -> list[int]:
        """The numbers of at most ``MAX_CANDIDATES`` names sharing most rare trigrams with ``wanted``."""
        held = [numbers for gram in trigrams(wanted[:MAX_WANTED]) if (numbers := self._postings(gram))]
        held.sort(key=len)
        shared: Counter[int] = Counter()
        for numbers in held[:MAX_TRIGRAMS]:
            shared.update(numbers)
        return [number for number, _count in shared.most_common(MAX_CANDIDATES)]

    def close_matches(self, wanted: str, limit: int = 5, cutoff: float = 0.4) -> list[tuple[str, str]]:
        """(path, label) of up to ``limit`` entities whose names resemble ``wanted``, best first."""
        wanted = wanted[:MAX_WANTED]
        matcher = difflib.SequenceMatcher(b=wanted)
        scored = []
        for number in self.candidates(wanted):
            name, path, label = self.name(number)
            matcher.set_seq1(name)
            if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff \
                    and (score := matcher.ratio()) >= cutoff:
                scored.append((-score, name, (path, label)))
        found: list[tuple[str, str]] = []
        for _score, _name, target in sorted(scored):
            if target not in found:
                found.append(target)
            if len(found) == limit:
                break
        return found
