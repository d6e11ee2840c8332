"""Where things are: the places that contain a place, the events inside it, where an event is.

The data says where an event happened with ``schema:location`` (often a small place without
coordinates: the central square of Zhanaozen) and how places nest with
``schema:containedInPlace``. A page for a place lists the events located there *or at a place
inside it* (the shooting on the central square is an event of Zhanaozen), and a map of an
event is drawn at its location or, when that has no coordinates, at the nearest place that
contains it with some. Both are read here: from a ``GraphView`` when a page is rendered, and
from the build's ``TripleIndex`` for the lines a page needs beyond its document
(``context_lines``, added to ``kazdata.entities.pages.page_lines``).
"""

from __future__ import annotations

import pyoxigraph as ox

from kazdata.entities.triples import TripleIndex, split_line, token

SCHEMA = "https://schema.org/"
CONTAINED_IN = SCHEMA + "containedInPlace"
LOCATION = SCHEMA + "location"
#: events located inside a place that its page lists (the rest are reachable through SPARQL)
INSIDE_LIMIT = 200
_CONTAINED_IN, _LOCATION = token(ox.NamedNode(CONTAINED_IN)), token(ox.NamedNode(LOCATION))


def containing(view, place) -> list:
    """The places that contain ``place``, nearest first, each once (a cycle ends the walk)."""
    found: list = []
    pending = [place]
    while pending:
        for outer in view.objects(pending.pop(0), CONTAINED_IN):
            if outer != place and outer not in found:
                found.append(outer)
                pending.append(outer)
    return found


def inner_places(view, place) -> list:
    """The places inside ``place`` at any depth, sorted by IRI."""
    found: set = set()
    pending = [place]
    while pending:
        for inner in view.subjects(CONTAINED_IN, pending.pop()):
            if inner != place and inner not in found:
                found.add(inner)
                pending.append(inner)
    return sorted(found, key=str)


def events_inside(view, place) -> list[tuple]:
    """(event, the inner places it is located at) for the events located at a place inside
    ``place``, by event IRI, at most ``INSIDE_LIMIT``."""
    found: dict = {}
    for inner in inner_places(view, place):
        for event in view.subjects(LOCATION, inner):
            found.setdefault(event, []).append(inner)
    return [(event, found[event]) for event in sorted(found, key=str)[:INSIDE_LIMIT]]


def locations(view, subject) -> list:
    """Where ``subject`` is on a map: itself when it is a place, else its ``schema:location``s."""
    return view.objects(subject, LOCATION) or [subject]


def context_lines(index: TripleIndex, entity: bytes) -> list[bytes]:
    """The lines ``containing``, ``inner_places`` and ``events_inside`` read for ``entity``'s
    page: the ``containedInPlace`` chain up from it and from its locations, and, below it, the
    places inside and the events located at them (at most ``INSIDE_LIMIT`` events, the first in
    IRI order, as ``events_inside`` keeps)."""
    lines: list[bytes] = []
    starts = [entity] + [split_line(line)[2] for line in index.lines_for(entity, _LOCATION)]
    seen = set(starts)
    pending = list(starts)
    while pending:  # up
        for line in index.lines_for(pending.pop(), _CONTAINED_IN):
            lines.append(line)
            outer = split_line(line)[2]
            if outer not in seen:
                seen.add(outer)
                pending.append(outer)
    inner, pending = {entity}, [entity]
    while pending:  # down
        for line in index.lines_for(None, _CONTAINED_IN, pending.pop()):
            lines.append(line)
            place = split_line(line)[0]
            if place not in inner:
                inner.add(place)
                pending.append(place)
    located = sorted((split_line(line)[0], line) for place in inner - {entity}
                     for line in index.lines_for(None, _LOCATION, place))
    events = sorted({event for event, _ in located})[:INSIDE_LIMIT]
    kept = set(events)
    lines += [line for event, line in located if event in kept]
    return lines
