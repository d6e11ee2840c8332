"""The order of events on the timeline: what the data says about time, and nothing more.

An event is known by its earliest day (``schema:startDate`` or ``sem:hasEarliestBeginTimeStamp``)
and, when the day is uncertain, its latest possible start (``sem:hasLatestBeginTimeStamp``).
Events are ordered by earliest day, a known day before a range that starts on it, and within
that by the recorded order: an event that ``kaz:follows`` another comes after it, whatever
their names. The events of a day are often recorded without a time (the dispute over the
decorations and the shooting it led to are both "16 December"), so the names' alphabetical
order would otherwise decide, which is how the timeline once showed reactions before the
shooting they react to.
"""

from __future__ import annotations

import heapq
from collections import defaultdict


def _key(event: dict) -> tuple:
    start = event.get("sort_date") or "9999"
    return start, event.get("latest") or start, event["path"]


def chronological(events: list[dict], follows: dict[str, list[str]],
                  descendants: dict[str, set[str]] | None = None) -> list[dict]:
    """``events`` (index entries with ``iri``, ``path``, ``sort_date`` and ``latest``) in timeline
    order: by ``_key``, except that an event comes after every event of the list that it, or one
    of its ``descendants`` (IRI -> IRIs of its sub-events at any depth), ``follows`` (IRI -> the
    IRIs it ``kaz:follows``). A cycle of ``kaz:follows`` (which the shapes do not forbid) is
    broken by ``_key``: every event is returned once."""
    descendants = descendants or {}
    owner = {event["iri"]: event["iri"] for event in events}
    for event in events:
        for inner in descendants.get(event["iri"], ()):
            owner.setdefault(inner, event["iri"])
    before: dict[str, set[str]] = defaultdict(set)  # iri -> iris of the list that must come first
    for event in events:
        for member in {event["iri"], *descendants.get(event["iri"], ())}:
            for target in follows.get(member, ()):
                first = owner.get(target)
                if first is not None and first != event["iri"]:
                    before[event["iri"]].add(first)
    return _ordered(events, before)


def _ordered(events: list[dict], before: dict[str, set[str]]) -> list[dict]:
    by_iri = {event["iri"]: event for event in events}
    waiting = {iri: set(firsts) for iri, firsts in before.items()}
    ready = [(_key(e), e["iri"]) for e in events if not waiting.get(e["iri"])]
    heapq.heapify(ready)
    result: list[dict] = []
    placed: set[str] = set()
    while len(result) < len(events):
        if not ready:  # a cycle: release the earliest of what is left
            rest = sorted((_key(e), e["iri"]) for e in events if e["iri"] not in placed)
            waiting[rest[0][1]] = set()
            ready.append(rest[0])
        _, iri = heapq.heappop(ready)
        if iri in placed:
            continue
        placed.add(iri)
        result.append(by_iri[iri])
        for other, firsts in waiting.items():
            if iri in firsts:
                firsts.discard(iri)
                if not firsts and other not in placed:
                    heapq.heappush(ready, (_key(by_iri[other]), other))
    return result


def timeline_tree(events: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The events without a parent in timeline order, and each event's sub-events in timeline
    order (an event with two parents is under both)."""
    by_iri = {event["iri"]: event for event in events}
    children: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        for parent in event.get("parent", ()):
            if parent in by_iri:
                children[parent].append(event)
    descendants: dict[str, set[str]] = {}

    def below(iri: str, seen: frozenset = frozenset()) -> set[str]:
        if iri not in descendants:
            found: set[str] = set()
            for child in children.get(iri, ()):
                if child["iri"] not in seen:
                    found |= {child["iri"], *below(child["iri"], seen | {iri})}
            descendants[iri] = found
        return descendants[iri]

    for event in events:
        below(event["iri"])
    follows = {event["iri"]: list(event.get("follows", ())) for event in events}
    roots = [e for e in events if not any(p in by_iri for p in e.get("parent", ()))]
    return (chronological(roots, follows, descendants),
            {parent: chronological(inner, follows, descendants) for parent, inner in children.items()})
