"""The vocabulary documents itself, and the package ships what it needs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef

from kazdata.sources import bundled

KAZ = "https://w3id.org/kazdata/ontology#"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(bundled.ontology_file(), format="turtle")


def _english(graph: Graph, term, predicate) -> list[Literal]:
    return [o for o in graph.objects(term, predicate) if isinstance(o, Literal) and o.language == "en"]


def test_every_term_has_an_english_label_and_comment(ontology):
    terms = {s for s in ontology.subjects() if str(s).startswith(KAZ)}
    assert len(terms) > 40
    for term in terms:
        assert _english(ontology, term, RDFS.label), term
        assert _english(ontology, term, RDFS.comment), term


def test_properties_have_domain_and_range_and_classes_are_aligned(ontology):
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in ontology.subjects(RDF.type, kind):
            assert ontology.value(prop, RDFS.domain) is not None, prop
            assert ontology.value(prop, RDFS.range) is not None, prop
    for cls in ontology.subjects(RDF.type, OWL.Class):
        assert ontology.value(cls, RDFS.subClassOf) is not None, cls
    assert (URIRef(KAZ + "Strike"), RDFS.subClassOf, URIRef("https://schema.org/Event")) in ontology


def test_ontology_metadata(ontology):
    header = URIRef("https://w3id.org/kazdata/ontology")
    for predicate in (OWL.versionIRI, OWL.versionInfo, URIRef("http://purl.org/dc/terms/license"),
                      URIRef("http://purl.org/dc/terms/creator"), URIRef("http://purl.org/dc/terms/created")):
        assert ontology.value(header, predicate) is not None, predicate


def test_the_wheel_ships_ontology_shapes_data_templates_and_assets(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)], check=True,
                   capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("kazdata-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("kazdata/bundled/ontology/kazdata.ttl", "kazdata/bundled/ontology/context.jsonld",
                     "kazdata/bundled/shapes/kazdata-shapes.ttl", "kazdata/bundled/data/dataset.ttl",
                     "kazdata/bundled/data/sources/globalpost-2011-12-19.ttl", "kazdata/entities/templates/entity.html",
                     "kazdata/entities/static/sparql.js"):
        assert expected in names, expected
    assert any(n.startswith("kazdata/bundled/data/queries/") for n in names)


def _terms_used() -> dict[str, set[str]]:
    """Every kaz: term the sources, shapes, example queries and code write, by where it is written
    (read from the files, not from the ontology)."""
    used: dict[str, set[str]] = {}
    graph = Graph()
    for path in [*sorted(bundled.sources_dir().glob("*.ttl")), *bundled.shapes_files()]:
        graph.parse(path, format="turtle")
        for term in {t for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(KAZ)}:
            used.setdefault(str(term)[len(KAZ):], set()).add(Path(path).name)
    written = [*sorted((ROOT / "data" / "queries").glob("*.rq")), *sorted((ROOT / "kazdata").rglob("*.py"))]
    for path in written:
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r'\bkaz:([A-Za-z]+)\b|\b(?:kaz|term)\("([A-Za-z]+)"\)', text):
            used.setdefault(name[0] or name[1], set()).add(path.name)
    return used


def test_every_term_the_project_uses_is_defined_with_a_label_and_comment(ontology):
    """A term the data or the code writes (kaz:saidIn, kaz:incomingLinkCount, ...) and the ontology
    does not define would be a term without meaning; the check above only sees defined ones."""
    used = _terms_used()
    assert {"saidIn", "statedBy", "FigureClaim", "incomingLinkCount"} <= set(used)
    undefined = {name: sorted(where) for name, where in used.items()
                 if not (_english(ontology, URIRef(KAZ + name), RDFS.label)
                         and _english(ontology, URIRef(KAZ + name), RDFS.comment))}
    assert undefined == {}


def test_every_property_of_the_documents_has_a_json_ld_term(ontology):
    """A JSON-LD document compacted with the context writes a property without a term as a full
    IRI: kaz:saidIn appeared so until it was added."""
    context = json.loads((ROOT / "ontology" / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    terms = {(value["@id"] if isinstance(value, dict) else value): value for value in context.values()
             if isinstance(value, (dict, str))}
    graph = Graph()
    for path in sorted(bundled.sources_dir().glob("*.ttl")):
        graph.parse(path, format="turtle")
    written = {str(p)[len(KAZ):] for p in graph.predicates() if str(p).startswith(KAZ)} | {"incomingLinkCount"}
    assert {"saidIn", "statedBy", "reportedValue"} <= written
    missing = sorted(name for name in written if f"kaz:{name}" not in terms)
    assert missing == []
    for name in written:
        if (URIRef(KAZ + name), RDF.type, OWL.ObjectProperty) in ontology:
            assert terms[f"kaz:{name}"] == {"@id": f"kaz:{name}", "@type": "@id"}, name
