"""Deterministic synthetic event datasets in kazdata's vocabulary, for tests and benchmarks.

``generate(events, out, seed)`` writes SHACL-valid source files shaped like a real event
record: a place hierarchy (country, regions, cities, squares), people with job titles,
organisations and outlets, events with sub-events, figure claims with qualifiers whose totals
are never smaller than their parts, and quotations. As in the curated data, the records (claims,
quotations) are attributed to an outlet and derived from the report, and the report is
schema:about each event; events carry no PROV attribution (decision 002). One source file (a
synthetic report) per 1,000 events, so sources stay small enough to validate one at a time.
Every label says the data is synthetic; nothing here describes the real world.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from kazdata.vocabulary import Vocabulary

EVENTS_PER_SOURCE = 1000
#: Sources are written with the default base; a build with another base rebases them.
PREFIXES = f"""@base <{Vocabulary().entities}> .
@prefix kaz:    <{Vocabulary().ontology}> .
@prefix schema: <https://schema.org/> .
@prefix sem:    <http://semanticweb.cs.vu.nl/2009/11/sem/> .
@prefix prov:   <http://www.w3.org/ns/prov#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""
EVENT_CLASSES = ("kaz:Protest", "kaz:Strike", "kaz:Clash", "kaz:PoliceUseOfForce", "kaz:Blockade", "kaz:Arson")
FIGURES = (("kaz:Deaths", "killed"), ("kaz:Wounded", "wounded"), ("kaz:Participants", "taking part"))


def _text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"@en'


def _named(kind: str, label: str) -> str:
    return f"    a {kind} ;\n    rdfs:label {_text(label)} ;\n    schema:name {_text(label)}"


class _World:
    """The shared places, people and organisations that every synthetic source refers to."""

    def __init__(self, events: int, rng: random.Random) -> None:
        self.regions = [f"synthetic-region-{i}" for i in range(max(1, events // 200))]
        self.cities = [(f"synthetic-city-{i}", rng.choice(self.regions)) for i in range(max(2, events // 20))]
        self.people = [f"synthetic-person-{i}" for i in range(max(2, events // 10))]
        self.outlets = [f"synthetic-outlet-{i}" for i in range(5)]
        self.rng = rng

    def turtle(self) -> str:
        rng, parts = self.rng, []
        parts.append(f"<place/synthetic-country>\n{_named('schema:Country', 'Synthetic country')} ;\n"
                     "    schema:latitude 45.0 ;\n    schema:longitude 60.0 .\n")
        for region in self.regions:
            parts.append(f"<place/{region}>\n{_named('schema:AdministrativeArea', region.replace('-', ' ').capitalize())} ;\n"
                         "    schema:containedInPlace <place/synthetic-country> .\n")
        for city, region in self.cities:
            latitude, longitude = rng.uniform(40, 50), rng.uniform(50, 70)
            parts.append(f"<place/{city}>\n{_named('schema:City', city.replace('-', ' ').capitalize())} ;\n"
                         f"    schema:containedInPlace <place/{region}> ;\n"
                         f"    schema:latitude {latitude:.5f} ;\n    schema:longitude {longitude:.5f} .\n")
            parts.append(f"<place/{city}-square>\n{_named('schema:Place', 'Central square of ' + city.replace('-', ' '))} ;\n"
                         f"    schema:containedInPlace <place/{city}> .\n")
        for person in self.people:
            parts.append(f"<person/{person}>\n{_named('schema:Person', person.replace('-', ' ').capitalize())} ;\n"
                         f"    schema:jobTitle {_text(rng.choice(['Mayor', 'Union leader', 'Police chief', 'Minister']))} .\n")
        for outlet in self.outlets:
            parts.append(f"<organization/{outlet}>\n{_named('schema:NewsMediaOrganization', outlet.replace('-', ' ').capitalize())} .\n")
        parts.append(f"<organization/synthetic-police>\n{_named('schema:Organization', 'Synthetic police')} .\n")
        return "\n".join(parts)


def _source(number: int, first: int, count: int, world: _World, rng: random.Random) -> str:
    article = f"article/synthetic-report-{number}"
    published = date(2020, 1, 1) + timedelta(days=number)
    parts = [f"<{article}>\n{_named('schema:NewsArticle', f'Synthetic report {number}')} ;\n"
             f"    schema:headline {_text(f'Synthetic report {number}')} ;\n"
             f"    schema:articleSection {_text('Synthetic')} ;\n"
             f"    schema:datePublished \"{published.isoformat()}\"^^xsd:date ;\n"
             f"    schema:publisher <organization/{world.outlets[0]}> .\n"]
    for index in range(first, first + count):
        parts.append(_event(index, article, world, rng))
    return "\n".join(parts)


def _claim(slug: str, event: str, kind: str, words: str, value: int, outlet: str, article: str) -> str:
    qualifier = "kaz:AtLeast" if value > 1 else "kaz:Exactly"
    wording = f"at least {value}" if value > 1 else "one"
    return (f"<claim/{slug}>\n    a kaz:FigureClaim ;\n    rdfs:label {_text(f'{wording} {words} ({outlet})')} ;\n"
            f"    schema:about <{event}> ;\n    kaz:figureKind {kind} ;\n    kaz:reportedValue {value} ;\n"
            f"    kaz:qualifier {qualifier} ;\n    kaz:wording {_text(wording)} ;\n"
            f"    kaz:countedGroup {_text('people')} ;\n    prov:wasAttributedTo <organization/{outlet}> ;\n"
            f"    prov:wasDerivedFrom <{article}> .\n")


def _event(index: int, article: str, world: _World, rng: random.Random) -> str:
    city, _region = rng.choice(world.cities)
    day = date(2011, 1, 1) + timedelta(days=rng.randrange(3000))
    parent = f"event/synthetic-event-{index}"
    child = f"{parent}-part"
    outlet = rng.choice(world.outlets)
    kind, words = rng.choice(FIGURES)
    child_value = rng.randrange(1, 50)
    total = child_value + rng.randrange(0, 20)
    actor = rng.choice(world.people)
    label = f"Synthetic event {index} in {city.replace('-', ' ')}"
    parts = [
        f"<{parent}>\n{_named(rng.choice(EVENT_CLASSES) + ', schema:Event', label)} ;\n"
        f"    schema:description {_text(f'A synthetic event for benchmarks, number {index}.')} ;\n"
        f"    schema:startDate \"{day.isoformat()}\"^^xsd:date ;\n"
        f"    schema:endDate \"{(day + timedelta(days=1)).isoformat()}\"^^xsd:date ;\n"
        f"    schema:location <place/{city}> ;\n    schema:subEvent <{child}> ;\n"
        f"    sem:hasActor <person/{actor}>, <organization/synthetic-police> .\n",
        f"<{child}>\n{_named('kaz:PoliceUseOfForce, schema:Event', label + ', first day')} ;\n"
        f"    schema:startDate \"{day.isoformat()}\"^^xsd:date ;\n"
        f"    schema:location <place/{city}-square> ;\n    schema:superEvent <{parent}> ;\n"
        f"    sem:hasActor <organization/synthetic-police> .\n",
        # events are not attributed: the report is about them, its claims say who reported what
        f"<{article}> schema:about <{parent}>, <{child}> .\n",
        _claim(f"synthetic-event-{index}-total", parent, kind, words, total, outlet, article),
        _claim(f"synthetic-event-{index}-part", child, kind, words, child_value, outlet, article),
    ]
    if index % 3 == 0:
        parts.append(f"<quotation/synthetic-event-{index}>\n{_named('schema:Quotation', f'Synthetic quotation {index}')} ;\n"
                     f"    schema:text {_text(f'Synthetic words spoken about event {index}.')} ;\n"
                     f"    schema:spokenByCharacter <person/{actor}> ;\n    schema:creator <person/{actor}> ;\n"
                     f"    schema:about <{parent}> ;\n    prov:wasAttributedTo <organization/{outlet}> ;\n"
                     f"    prov:wasDerivedFrom <{article}> .\n")
    return "\n".join(parts)


def generate(events: int, out: Path, seed: int = 2011) -> list[Path]:
    """Write ``out/synthetic-world.ttl`` and one ``out/synthetic-report-N.ttl`` per 1,000 events."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    world = _World(events, rng)
    written = [out / "synthetic-world.ttl"]
    written[0].write_text(PREFIXES + "\n" + world.turtle(), encoding="utf-8")
    for number, first in enumerate(range(0, events, EVENTS_PER_SOURCE)):
        path = out / f"synthetic-report-{number}.ttl"
        count = min(EVENTS_PER_SOURCE, events - first)
        path.write_text(PREFIXES + "\n" + _source(number, first, count, world, rng), encoding="utf-8")
        written.append(path)
    return written
