"""Triples the build and the page renderer read, without an Oxigraph store.

``TripleIndex`` holds the union graph of a release as its sorted N-Triples lines, indexed by
subject, predicate and IRI object. The build describes every entity from it: a document is a
set of lines, so describing one costs dictionary lookups and no term objects (loading an
in-memory store cost more than the whole document step, decision 007). ``TripleSet`` is a
handful of parsed triples, what one page is rendered from.

Both answer ``quads_for_pattern(s, p, o, None)`` over the union graph, the one call
``kazdata.entities.graph_view.GraphView`` makes, so the same renderer runs on either (or on an ``ox.Store``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyoxigraph as ox


def token(term) -> bytes:
    """A term as written in N-Triples (``<iri>``, ``"literal"@en``, ...)."""
    return str(term).encode()


def resource(value: bytes) -> ox.NamedNode | ox.BlankNode:
    """An IRI or ``_:`` token of an N-Triples line as a term."""
    return ox.BlankNode(value[2:].decode()) if value[:2] == b"_:" else ox.NamedNode(value[1:-1].decode())


def split_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """``b'<s> <p> o .\\n'`` -> ``(b'<s>', b'<p>', b'o')``; subjects and predicates hold no space."""
    subject, predicate, rest = line.split(b" ", 2)
    return subject, predicate, rest[:-3]


def parse_lines(lines: Iterable[bytes]) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(b"".join(lines), format=ox.RdfFormat.N_TRIPLES)]


class TripleIndex:
    """Sorted, distinct N-Triples lines of a graph, by subject, predicate and IRI object."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.by_subject: dict[bytes, list[bytes]] = defaultdict(list)
        self.by_predicate: dict[bytes, list[bytes]] = defaultdict(list)
        self.by_object: dict[bytes, list[bytes]] = defaultdict(list)
        #: datatype IRIs of the literals (for choosing the prefixes a dump uses)
        self.datatypes: set[str] = set()
        self._by_predicates: dict = {}
        by_subject, by_predicate, by_object = self.by_subject, self.by_predicate, self.by_object
        datatype_tokens = set()
        for line in lines:  # split_line, inlined: this loop runs once per triple
            subject, predicate, obj = line.split(b" ", 2)
            by_subject[subject].append(line)
            by_predicate[predicate].append(line)
            if obj[:1] == b"<":
                by_object[obj[:-3]].append(line)
            elif obj[-4:-3] == b">":
                datatype_tokens.add(obj[obj.rindex(b"^^<") + 3:-4])
        self.datatypes.update(token.decode() for token in datatype_tokens)

    def __len__(self) -> int:
        return len(self.lines)

    def lines_by_object(self, predicates: frozenset[bytes]) -> dict[bytes, list[bytes]]:
        """IRI object -> its lines with one of ``predicates``, built once per set."""
        key = ("object", predicates)
        table = self._by_predicates.get(key)
        if table is None:
            table = defaultdict(list)
            for predicate in predicates:
                for line in self.by_predicate.get(predicate, ()):
                    obj = split_line(line)[2]
                    if obj[:1] == b"<":
                        table[obj].append(line)
            self._by_predicates[key] = table
        return table

    def lines_by_subject(self, predicates: frozenset[bytes]) -> dict[bytes, list[bytes]]:
        """subject -> its lines with one of ``predicates`` (e.g. its labels), built once per set."""
        table = self._by_predicates.get(predicates)
        if table is None:
            table = defaultdict(list)
            for predicate in predicates:
                for line in self.by_predicate.get(predicate, ()):
                    table[line[:line.index(b" ")]].append(line)
            self._by_predicates[predicates] = table
        return table

    def lines_for(self, subject: bytes | None = None, predicate: bytes | None = None,
                  obj: bytes | None = None) -> list[bytes]:
        """Lines matching a pattern of N-Triples tokens (None matches anything)."""
        if subject is not None:
            candidates = self.by_subject.get(subject, ())
        elif obj is not None and obj[:1] == b"<":
            candidates = self.by_object.get(obj, ())
        elif predicate is not None:
            candidates = self.by_predicate.get(predicate, ())
        else:
            candidates = self.lines
        if subject is None and predicate is None and obj is None:
            return list(candidates)
        found = []
        for line in candidates:
            s, p, o = split_line(line)
            if (subject is None or s == subject) and (predicate is None or p == predicate) \
                    and (obj is None or o == obj):
                found.append(line)
        return found

    def quads_for_pattern(self, subject=None, predicate=None, obj=None, graph=None) -> Iterator[ox.Quad]:
        """The ``ox.Store`` call, over the union graph (``graph`` must be None)."""
        if graph is not None:
            raise ValueError("a TripleIndex holds the union graph only")
        lines = self.lines_for(*(None if term is None else token(term) for term in (subject, predicate, obj)))
        for triple in parse_lines(lines):
            yield ox.Quad(triple.subject, triple.predicate, triple.object)


class TripleSet:
    """A few parsed triples answering ``quads_for_pattern`` (one page's worth)."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self.by_subject: dict = defaultdict(list)
        self.by_object: dict = defaultdict(list)
        self.triples = list(dict.fromkeys(triples))
        for triple in self.triples:
            self.by_subject[triple.subject].append(triple)
            self.by_object[triple.object].append(triple)

    def quads_for_pattern(self, subject=None, predicate=None, obj=None, graph=None) -> Iterator[ox.Triple]:
        """Matching triples (with the ``subject``, ``predicate`` and ``object`` of a quad)."""
        if graph is not None:
            raise ValueError("a TripleSet holds the union graph only")
        if subject is not None:
            candidates = self.by_subject.get(subject, ())
        elif obj is not None:
            candidates = self.by_object.get(obj, ())
        else:
            candidates = self.triples
        for t in candidates:  # triples: they have what GraphView reads of a quad, and cost nothing to yield
            if (subject is None or t.subject == subject) and (predicate is None or t.predicate == predicate) \
                    and (obj is None or t.object == obj):
                yield t
