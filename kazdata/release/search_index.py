"""The release's search index: every entity's names in every language, for ``/search?q=``.

The build writes ``docs/search.jsonl``, one line per entity (path, kind, English label, and
every ``rdfs:label``, ``schema:name`` and ``schema:alternateName`` with its language), so a
search for "Жанаозен", "Janaozen" or "novy uzen" finds Zhanaozen. The server loads it once per
release and scans it: names are compared folded (case, accents and compatibility forms removed),
each word of the query must be in one of an entity's names, and an exact name ranks before a
name that starts with the query, before one that merely contains it. A linear scan is
milliseconds at the bundled size and about 0.1 s at 10^5 entities; the page says how many it
shows.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SEARCH_INDEX = "docs/search.jsonl"
#: the longest query accepted, in characters
MAX_QUERY = 200
#: results shown per kind of entity
PER_KIND = 25


def fold(text: str) -> str:
    """``text`` for comparison: compatibility-decomposed, without combining marks, case-folded,
    spaces and hyphens made one space ("Ažubalis" and "azubalis" compare equal)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(bare.replace("-", " ").split())


def write_search_index(release: Path, rows: list[dict]) -> None:
    """``rows``: dicts with ``path``, ``kind``, ``label`` and ``names`` ([text, language] pairs)."""
    lines = [json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
             for row in sorted(rows, key=lambda r: r["path"])]
    (release / SEARCH_INDEX).write_text("".join(lines), encoding="utf-8")


@dataclass(frozen=True)
class Hit:
    path: str
    kind: str
    label: str
    #: the name that matched, when it is not the label, and its language
    matched: str | None
    language: str | None
    rank: int


class SearchIndex:
    """The loaded ``docs/search.jsonl``: ``search(query)`` -> hits grouped by kind."""

    def __init__(self, text: str) -> None:
        self.rows = []
        for line in text.splitlines():
            row = json.loads(line)
            self.rows.append((row, [(fold(name), name, language) for name, language in row["names"]]))

    def search(self, query: str) -> tuple[dict[str, list[Hit]], int]:
        """Hits by kind (kinds in alphabetical order, at most ``PER_KIND`` each, best first) and
        how many entities matched in all."""
        wanted = fold(query)
        words = wanted.split()
        if not words:
            return {}, 0
        hits: dict[str, list[Hit]] = {}
        total = 0
        for row, names in self.rows:
            if not all(any(word in folded for folded, _, _ in names) for word in words):
                continue
            total += 1
            rank, name, language = min((_rank(folded, wanted), name, language) for folded, name, language in names)
            matched = None if name == row["label"] else name
            hits.setdefault(row["kind"], []).append(Hit(row["path"], row["kind"], row["label"], matched,
                                                        language if matched else None, rank))
        ordered = {kind: sorted(found, key=lambda h: (h.rank, h.label.casefold()))[:PER_KIND]
                   for kind, found in sorted(hits.items())}
        return ordered, total


def _rank(folded: str, wanted: str) -> int:
    if folded == wanted:
        return 0
    if folded.startswith(wanted):
        return 1
    if f" {wanted}" in f" {folded}":
        return 2
    return 3 if wanted in folded else 4
