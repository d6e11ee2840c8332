"""Literals as written: which ones Oxigraph would change, and validation on the terms as written.

Oxigraph stores a literal of a datatype it knows by its value: ``"4.0"^^xsd:decimal`` comes back
as ``"4"``, ``"2000"^^xsd:int`` and ``"300"^^xsd:byte`` as ``xsd:integer``. A shape judging the
term (sh:datatype, sh:pattern, sh:maxLength, sh:in, sh:hasValue, the counts) would then judge a
different term than the one in the file, and could pass invalid data. So the sources are scanned
for such literals first (:func:`altered`, one pass of Oxigraph's parser, about a second per 10^6
triples); if one could change a verdict (:func:`significant`: a changed datatype, or a changed
lexical form where a constraint reads the lexical form), every shape is validated by pySHACL on an rdflib graph parsed without
rdflib's own normalisation (:func:`validate_as_written`), and the report shows each value as the
file writes it. Sources written canonically (the bundled ones, and anything kazdata generates)
keep the fast path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib import Graph
from rdflib.collection import Collection
from rdflib.namespace import SH

from kazdata.validation.report import Finding, term_text, to_oxigraph
from kazdata.validation.shapes import as_written, path_text

_XSD = "http://www.w3.org/2001/XMLSchema#"
_KEPT = frozenset({f"{_XSD}string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"})
# lexical forms Oxigraph is known to keep as they are: the common case needs no round trip
_CANONICAL = {f"{_XSD}integer": re.compile(r"-?(0|[1-9][0-9]{0,17})"),
              f"{_XSD}date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
              f"{_XSD}gYear": re.compile(r"[0-9]{4}"),
              f"{_XSD}boolean": re.compile(r"true|false")}
_PROBE = ox.NamedNode("urn:kazdata:validation:probe")


@dataclass(frozen=True)
class Altered:
    """A literal of a source that Oxigraph would store as another term."""

    path: Path
    written: ox.Literal
    stored: ox.Literal
    predicates: frozenset[str] = frozenset()  # the predicates it is a value of

    @property
    def same_value(self) -> bool:
        """Only the lexical form changes ("4.0" -> "4"): sh:datatype, comparisons and sh:class judge
        it alike; a constraint on the lexical form (sh:pattern, sh:in, ...) may not."""
        return self.stored.datatype == self.written.datatype

    def __str__(self) -> str:
        return f"{self.path}: {term_text(self.written)} would be judged as {term_text(self.stored)}"


def _candidates(paths: Sequence[Path]) -> Iterator[tuple[Path, str, ox.Literal]]:
    for path in paths:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=Path(path).resolve().as_uri()):
            value = quad.object
            if isinstance(value, ox.Literal) and value.datatype.value not in _KEPT:
                form = _CANONICAL.get(value.datatype.value)
                if form is None or not form.fullmatch(value.value):
                    yield path, quad.predicate.value, value


def altered(paths: Sequence[Path]) -> list[Altered]:
    """The literals of ``paths`` that Oxigraph would not store as written (each distinct one once)."""
    first: dict[ox.Literal, Path] = {}
    predicates: dict[ox.Literal, set[str]] = {}
    for path, predicate, value in _candidates(paths):
        first.setdefault(value, path)
        predicates.setdefault(value, set()).add(predicate)
    if not first:
        return []
    scratch = ox.Store()
    written = list(first)
    scratch.extend(ox.Quad(ox.NamedNode(f"urn:kazdata:validation:literal:{i}"), _PROBE, value)
                   for i, value in enumerate(written))
    found = []
    for quad in scratch.quads_for_pattern(None, _PROBE, None, None):
        subject, stored = quad.subject, quad.object
        assert isinstance(subject, ox.NamedNode) and isinstance(stored, ox.Literal)
        original = written[int(subject.value.rsplit(":", 1)[1])]
        if stored.value != original.value or stored.datatype != original.datatype:
            found.append(Altered(first[original], original, stored, frozenset(predicates[original])))
    return sorted(found, key=lambda a: (str(a.path), str(a.written)))


# parameters whose verdict may depend on a value's lexical form, not only on its value and datatype
_LEXICAL = (SH.pattern, SH.minLength, SH.maxLength, SH["in"], SH.hasValue, SH.equals, SH.disjoint)
_NOT_LITERAL = (SH.IRI, SH.BlankNode, SH.BlankNodeOrIRI)


def lexical_predicates(shapes: Graph) -> set[str] | None:
    """The predicates whose values a constraint judges by lexical form (None: any predicate may be).

    A property shape with a plain sh:path names its predicate; a node shape that also requires an
    IRI or blank node (sh:nodeKind) fails a literal whatever its form; any other use is counted as
    reaching every predicate. sh:in and sh:hasValue matter only with a literal member.
    """
    found: set[str] = set()
    for shape, parameter, value in shapes.triples((None, None, None)):
        if parameter not in _LEXICAL:
            continue
        if parameter in (SH["in"], SH.hasValue):
            members = Collection(shapes, value) if parameter == SH["in"] else [value]
            if not any(isinstance(m, rdflib.Literal) for m in members):
                continue
        path = shapes.value(shape, SH.path)
        if isinstance(path, rdflib.URIRef):
            found.add(str(path))
        elif path is None and shapes.value(shape, SH.nodeKind) in _NOT_LITERAL:
            continue
        else:
            return None
    return found


def significant(rewritten: list[Altered], shapes: Graph) -> list[Altered]:
    """The rewritten literals that could change a verdict: a changed datatype always, a changed
    lexical form only where a constraint reads it (see lexical_predicates)."""
    reading = lexical_predicates(shapes)
    return [a for a in rewritten if not a.same_value or reading is None or a.predicates & reading]


def shown_as_written(rewritten: list[Altered]) -> dict[str, str]:
    """Report text of a stored literal -> the text the file wrote, where only one written form
    became that stored literal (else the stored form is shown: which file form is meant is unknown)."""
    forms: dict[str, set[str]] = {}
    for altered_literal in rewritten:
        forms.setdefault(term_text(altered_literal.stored), set()).add(term_text(altered_literal.written))
    return {stored: next(iter(written)) for stored, written in forms.items() if len(written) == 1}


def validate_as_written(paths: Sequence[Path], ontology: Path, shapes: Graph) -> list[Finding]:
    """Every shape in pySHACL over the union parsed as written (the path of sources with altered
    literals). ``shapes`` is the shapes graph as kazdata plans it (see shapes.plan)."""
    data = Graph()
    with as_written():
        for path in [*paths, ontology]:
            data.parse(path, format="turtle")
    _conforms, results, _text = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                                 allow_warnings=True, meta_shacl=False)
    findings = []
    for result in results.objects(None, rdflib.SH.result):
        messages = sorted(str(m) for m in results.objects(result, rdflib.SH.resultMessage))
        severity = results.value(result, rdflib.SH.resultSeverity)
        findings.append(Finding(
            focus=to_oxigraph(results.value(result, rdflib.SH.focusNode)),
            path=path_text(results, results.value(result, rdflib.SH.resultPath)),
            value=term_text(results.value(result, rdflib.SH.value)),
            message="; ".join(messages) or "(the shape gives no message)",
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            source_shape=str(results.value(result, rdflib.SH.sourceShape)),
            constraint=str(results.value(result, rdflib.SH.sourceConstraintComponent))))
    return findings
