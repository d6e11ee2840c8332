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
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import SH

from kazdata.sources import bundled
from kazdata.sources.curated import discover_sources
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


def test_the_curated_sources_conform_without_a_warning():
    report = validate_sources(discover_sources(bundled.sources_dir()))
    assert report.violations == [], "\n\n".join(map(str, report.violations))


def test_kazdata_validate_reports_no_warning_on_the_bundled_data():
    """What a curator sees: the command's own summary line, warnings included (issue 12)."""
    done = subprocess.run([sys.executable, "-m", "kazdata.cli", "validate"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1 file(s) checked: 0 violation(s), 0 warning(s)/info(s)", \
        done.stdout


# --- across source files: each file is validated in its own worker, the cross-file rules over all ---

PREFIXES = """@base <https://w3id.org/kazdata/id/> .
@prefix kaz:    <https://w3id.org/kazdata/ontology#> .
@prefix schema: <https://schema.org/> .
@prefix prov:   <http://www.w3.org/ns/prov#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""


def _line(text: str, start: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def _claim(slug: str, event: str, value: int) -> str:
    return f"""
<claim/{slug}> a kaz:FigureClaim ; rdfs:label "{value} killed"@en ; schema:about <event/{event}> ;
    kaz:figureKind kaz:Deaths ; kaz:reportedValue {value} ; kaz:qualifier kaz:AtLeast ; kaz:wording "{value}"@en ;
    prov:wasAttributedTo <organization/wire> ; prov:wasDerivedFrom <article/wire-report> ."""


def _event(slug: str, day: str, extra: str = "") -> str:
    return f"""
<event/{slug}> a kaz:Clash, schema:Event ; rdfs:label "{slug}"@en ; schema:name "{slug}"@en ;
    schema:startDate "{day}"^^xsd:date ; schema:location <place/town> {extra}."""


WIRE = PREFIXES + """
<place/town> a schema:City ; rdfs:label "Town"@en ; schema:name "Town"@en .
<organization/wire> a schema:NewsMediaOrganization ; rdfs:label "Wire"@en ; schema:name "Wire"@en .
<article/wire-report> a schema:NewsArticle ; rdfs:label "Report"@en ; schema:name "Report"@en ;
    schema:headline "Report"@en ; schema:datePublished "2011-12-19"^^xsd:date ; schema:publisher <organization/wire> .
""" + _event("clashes", "2011-12-16", '; schema:endDate "2011-12-17"^^xsd:date ') + _claim("clashes-deaths", "clashes", 10)


def test_a_total_in_one_file_smaller_than_parts_in_another_is_reported(tmp_path):
    """The parts, their places, outlet and article are all in other files: sh:class still finds them."""
    (tmp_path / "a-wire.ttl").write_text(WIRE)
    (tmp_path / "b-parts.ttl").write_text(
        PREFIXES + _event("shooting-1", "2011-12-16", "; schema:superEvent <event/clashes> ")
        + _event("shooting-2", "2011-12-17", "; schema:superEvent <event/clashes> ")
        + _claim("shooting-1-deaths", "shooting-1", 13) + _claim("shooting-2-deaths", "shooting-2", 1))
    report = validate_sources(sorted(tmp_path.glob("*.ttl")), workers=2)
    violations = [v for v in report.violations if v.severity == "Violation"]
    assert [(v.source_shape, v.focus_node) for v in violations] == \
        [(str(KAZ_SHAPES.ReportedTotalShape), "https://w3id.org/kazdata/id/event/clashes")], \
        "\n".join(map(str, report.violations))
    assert violations[0].locations == (f"{tmp_path / 'a-wire.ttl'}:{_line(WIRE, '<event/clashes>')}",)
    assert "(14)" in violations[0].message and "deaths: 10" in violations[0].message


def test_types_that_clash_between_two_files_name_both_files(tmp_path):
    (tmp_path / "a-wire.ttl").write_text(WIRE)
    (tmp_path / "b-person.ttl").write_text(PREFIXES + '\n<place/town> a schema:Person ; schema:jobTitle "Mayor"@en .\n')
    report = validate_sources(sorted(tmp_path.glob("*.ttl")), workers=2)
    clashes = [v for v in report.violations if v.source_shape == str(KAZ_SHAPES.DisjointKindsShape)]
    assert [v.focus_node for v in clashes] == ["https://w3id.org/kazdata/id/place/town"]
    assert clashes[0].locations == (f"{tmp_path / 'a-wire.ttl'}:{_line(WIRE, '<place/town>')}",
                                    f"{tmp_path / 'b-person.ttl'}:{_line(PREFIXES, '@prefix xsd') + 2}")
    assert report.conforms is False


# what each engine says it did: the compiled engine queries the union, pySHACL validates each file
ENGINE_PROGRESS = {"sparql": ("core constraints:", 1), "pyshacl": ("file(s) validated in pySHACL", 4)}


@pytest.mark.parametrize("engine", sorted(ENGINE_PROGRESS))
def test_a_generated_dataset_in_several_files_validates_and_a_break_is_placed(tmp_path, monkeypatch, engine):
    from kazdata.sources import generate
    monkeypatch.setattr(generate, "EVENTS_PER_SOURCE", 100)
    paths = generate.generate(300, tmp_path)
    assert len(paths) == 4  # the world and three reports
    lines = []
    report = validate_sources(paths, progress=lines.append, workers=2, engine=engine)
    assert report.violations == [], "\n\n".join(map(str, report.violations))
    said, times = ENGINE_PROGRESS[engine]
    assert sum(said in line for line in lines) == times and any("SPARQL constraints" in line for line in lines)

    broken = paths[2]
    text = broken.read_text()
    claim = re.search(r"^<(claim/synthetic-event-\d+-part)>\n(?:    .*\n)*?    kaz:figureKind \S+ ;\n", text, re.MULTILINE)
    line = text[:claim.start()].count("\n") + 1
    without_kind = re.sub(r"    kaz:figureKind \S+ ;\n", "", claim.group(0))
    broken.write_text(text[:claim.start()] + without_kind + text[claim.end():])
    report = validate_sources(paths, workers=2, engine=engine)
    errors = [v for v in report.violations if v.severity == "Violation"]
    assert [(v.focus_node, v.path, v.locations) for v in errors] == [
        (f"https://w3id.org/kazdata/id/{claim.group(1)}", "https://w3id.org/kazdata/ontology#figureKind",
         (f"{broken}:{line}",))], "\n\n".join(map(str, errors))


def test_the_curated_clashes_reported_below_their_shootings_are_reported(tmp_path):
    """The article's clashes (at least 14 killed) hold the Zhanaozen (13) and Shetpe (1) shootings:
    a total of 13 is smaller than its parts, wherever in the tree of events they sit."""
    (source,) = discover_sources(bundled.sources_dir())
    text = source.read_text(encoding="utf-8")
    lowered = text.replace('kaz:reportedValue 14 ;', 'kaz:reportedValue 13 ;')
    assert lowered.count("kaz:reportedValue 13 ;") == text.count("kaz:reportedValue 13 ;") + 1
    (tmp_path / source.name).write_text(lowered, encoding="utf-8")
    report = validate_sources([tmp_path / source.name])
    violations = [v for v in report.violations if v.severity == "Violation"]
    assert [(v.source_shape, v.focus_node) for v in violations] == [
        (str(KAZ_SHAPES.ReportedTotalShape), "https://w3id.org/kazdata/id/event/mangystau-clashes-2011-12-16-17")]
    assert "deaths: 13" in violations[0].message and "(14)" in violations[0].message
