"""Close matches for a name that was not found, in bounded work per lookup.

An HTML 404 suggests entities whose label or slug resembles the missing path. Comparing the
wanted name with every name of the release (``difflib.get_close_matches`` did) cost 2.6-5.7 s
of CPU per 404 at 10^6 triples (issue 15). ``NameIndex`` is built once per opened release: a
map from each character trigram to the names holding it. A lookup takes the wanted name's
rarest trigrams (``MAX_TRIGRAMS``, each looked up only while it is held by at most
``MAX_POSTINGS`` names: a trigram every name has tells nothing), keeps the ``MAX_CANDIDATES``
names sharing most of them, and ranks only those with difflib's ratio. So one 404 reads at most
``MAX_TRIGRAMS * MAX_POSTINGS`` postings and compares ``MAX_CANDIDATES`` strings, whatever the
size of the release.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping

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


class NameIndex:
    """Names -> (entity path, label), with their trigrams indexed (module docstring)."""

    def __init__(self, names: Mapping[str, tuple[str, str]]) -> None:
        self.names = list(names)
        self.targets = [names[name] for name in self.names]
        postings: dict[str, list[int]] = {}
        for number, name in enumerate(self.names):
            for gram in trigrams(name):
                postings.setdefault(gram, []).append(number)
        self.postings = postings

    def candidates(self, wanted: str) -> list[int]:
        """The numbers of at most ``MAX_CANDIDATES`` names sharing most rare trigrams with ``wanted``."""
        grams = [g for g in trigrams(wanted[:MAX_WANTED]) if 0 < len(self.postings.get(g, ())) <= MAX_POSTINGS]
        grams.sort(key=lambda g: len(self.postings[g]))
        shared: Counter[int] = Counter()
        for gram in grams[:MAX_TRIGRAMS]:
            shared.update(self.postings[gram])
        return [number for number, _count in shared.most_common(MAX_CANDIDATES)]

    def close_matches(self, wanted: str, limit: int = 5, cutoff: float = 0.4) -> list[tuple[str, str]]:
        """(path, label) of up to ``limit`` entities whose names resemble ``wanted``, best first."""
        wanted = wanted[:MAX_WANTED]
        matcher = difflib.SequenceMatcher(b=wanted)
        scored = []
        for number in self.candidates(wanted):
            matcher.set_seq1(self.names[number])
            if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff \
                    and (score := matcher.ratio()) >= cutoff:
                scored.append((-score, self.names[number], number))
        found: list[tuple[str, str]] = []
        for _score, _name, number in sorted(scored):
            if self.targets[number] not in found:
                found.append(self.targets[number])
            if len(found) == limit:
                break
        return found
