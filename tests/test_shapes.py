"""The SHACL shapes (shapes/kazdata-shapes.ttl): each rule catches what breaks it, and nothing else.

Every file in tests/fixtures/broken/ breaks exactly one rule and is otherwise valid. Its header
names the rule (the shape's IRI) and the node that breaks it:

    # rule:  https://w3id.org/kazdata/shapes#EventDateShape
    # focus: https://w3id.org/kazdata/id/event/zhanaozen-shooting

(``# focus: blank node`` when the broken node is a blank node). A new rule needs a shape with an
sh:severity and a fixture; ``test_every_rule_has_a_fixture`` fails until both exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import SH

from kazdata import bundled
from kazdata.sources import discover_sources
from kazdata.validation import validate_sources

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BROKEN = sorted((FIXTURES / "broken").glob("*.ttl"))
GOOD = FIXTURES / "good-minimal.ttl"
KAZ_SHAPES = Namespace("https://w3id.org/kazdata/shapes#")
BLANK_NODE = "blank node"


@dataclass(frozen=True)
class Expectation:
    """What a broken fixture promises: the rule it breaks and the node that breaks it."""

    rule: str
    focus: str


def read_expectation(fixture: Path) -> Expectation:
    header = dict(re.findall(r"^# (rule|focus):\s+(\S.*?)\s*$", fixture.read_text(), re.MULTILINE))
    assert set(header) == {"rule", "focus"}, f"{fixture.name}: header must give '# rule:' and '# focus:'"
    return Expectation(rule=header["rule"], focus=header["focus"])


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for path in bundled.shapes_files():
        graph.parse(path, format="turtle")
    return graph


def rules() -> dict[str, str]:
    """Every rule: shape IRI -> its severity's local name ("Violation", "Warning", "Info")."""
    graph = shapes_graph()
    return {str(shape): str(severity).rsplit("#", 1)[-1]
            for shape, severity in graph.subject_objects(SH.severity) if isinstance(shape, URIRef)}


def test_every_rule_has_a_fixture():
    covered = {read_expectation(fixture).rule for fixture in BROKEN}
    assert sorted(set(rules()) - covered) == [], "rules without a fixture in tests/fixtures/broken/"
    assert sorted(covered - set(rules())) == [], "fixtures naming a shape that is not a rule"


@pytest.mark.parametrize("shape", sorted(rules()), ids=lambda iri: iri.rsplit("#", 1)[-1])
def test_every_rule_speaks_to_a_curator(shape):
    graph = shapes_graph()
    node = URIRef(shape)
    assert graph.value(node, SH.name), f"{shape} has no sh:name"
    messages = [*graph.objects(node, SH.message),
                *(m for c in graph.objects(node, SH.sparql) for m in graph.objects(c, SH.message))]
    assert len(messages) == 1, f"{shape} needs exactly one sh:message (on the shape or its sh:sparql)"


@pytest.mark.parametrize("fixture", BROKEN, ids=lambda path: path.stem)
def test_a_broken_fixture_is_reported_by_its_rule_only(fixture):
    expected = read_expectation(fixture)
    severity = rules()[expected.rule]
    report = validate_sources([fixture])

    hits = [v for v in report.violations if v.source_shape == expected.rule]
    assert hits, f"{expected.rule} reported nothing; the report was:\n" + "\n".join(map(str, report.violations))
    for hit in hits:
        if expected.focus == BLANK_NODE:
            assert not hit.focus_node.startswith(("http://", "https://")), hit
        else:
            assert hit.focus_node == expected.focus, hit
        assert hit.severity == severity, hit
        assert hit.source_file == str(fixture), hit
        assert hit.message and "{?" not in hit.message and "{$" not in hit.message, hit

    others = [v for v in report.violations if v.severity == "Violation" and v.source_shape != expected.rule]
    assert others == [], "the fixture breaks other rules too:\n" + "\n".join(map(str, others))
    assert report.conforms is (severity != "Violation")


def test_the_minimal_good_fixture_passes_without_a_warning():
    report = validate_sources([GOOD])
    assert report.violations == [], "\n\n".join(map(str, report.violations))


def test_the_curated_sources_conform():
    report = validate_sources(discover_sources(bundled.sources_dir()))
    violations = [v for v in report.violations if v.severity == "Violation"]
    assert report.conforms, "\n\n".join(map(str, violations))
