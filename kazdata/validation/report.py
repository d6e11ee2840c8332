"""Validation results in terms a curator can act on: the rule, the node, and where it is written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import overload

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class Result:
    """What SHACL reports for one failed constraint, whichever engine found it."""

    path: str | None  # sh:resultPath: a predicate's IRI, or a complex path in SPARQL syntax
    value: str | None
    message: str
    severity: str
    source_shape: str
    constraint: str


@dataclass(frozen=True)
class Violation(Result):
    """One SHACL result, in terms a curator can act on: the node, and where it is written."""

    focus_node: str
    source_file: str | None
    locations: tuple[str, ...] = ()  # "file:line" of each source that describes the focus node

    def __str__(self) -> str:
        where = ", ".join(self.locations) or self.source_file or "(no source file defines this node)"
        parts = [f"{where}: {self.severity}: {self.message}", f"  node:  {self.focus_node}"]
        if self.path:
            parts.append(f"  path:  {self.path}")
        if self.value:
            parts.append(f"  value: {self.value}")
        parts.append(f"  rule:  {self.source_shape} ({self.constraint})")
        return "\n".join(parts)


@dataclass
class ValidationReport:
    violations: list[Violation] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        """False if any result has severity Violation; warnings and infos do not fail a build."""
        return not any(v.severity == "Violation" for v in self.violations)


@dataclass(frozen=True)
class Finding(Result):
    """A result before it is placed in the files: what the core checks, pySHACL or a SPARQL rule found.

    ``focus`` is the Oxigraph term (picklable, and the key to look the node up in the union).
    """

    focus: ox.NamedNode | ox.BlankNode | ox.Literal


@overload
def term_text(term: None) -> None: ...
@overload
def term_text(term: object) -> str: ...


def term_text(term: object) -> str | None:
    """How a term is shown in a report: IRIs and blank nodes bare, literals in N-Triples form."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        term = to_rdflib(term)
    if isinstance(term, Literal):
        return term.n3()
    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return term.value
    return str(term)


def to_rdflib(term):
    """The rdflib term for an Oxigraph term (literals normalised as rdflib normalises them)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:  # a plain literal, as rdflib's parsers give it
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_oxigraph(term):
    """The Oxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def _spellings(text: str, iri: str) -> list[str]:
    """How ``iri`` may be written in a Turtle file: in full, relative to @base, or prefixed."""
    spellings = [f"<{iri}>"]
    for base in re.findall(r"@base\s+<([^>]*)>", text, re.IGNORECASE):
        if iri.startswith(base):
            spellings.append(f"<{iri[len(base):]}>")
    for prefix, namespace in re.findall(r"@prefix\s+([\w.-]*):\s*<([^>]*)>", text, re.IGNORECASE):
        if iri.startswith(namespace):
            spellings.append(f"{prefix}:{iri[len(namespace):]}")
    return spellings


def locate(path: Path, iri: str) -> int | None:
    """The line where ``iri`` is first written as a subject (else first mentioned), or None."""
    return SourceLines(path).line_of(iri)


class SourceLines:
    """Finds the line that describes a node in one Turtle file, reading the file once.

    The first lookup indexes every line that starts with an IRI written in full, relative to
    @base or prefixed, so each further lookup is a dictionary access; a node written as a
    subject nowhere falls back to a scan for its first mention.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._text: str | None = None
        self._subjects: dict[str, int] = {}

    def _index(self) -> str:
        if self._text is None:
            self._text = self.path.read_text(encoding="utf-8")
            bases = re.findall(r"@base\s+<([^>]*)>", self._text, re.IGNORECASE)
            namespaces = dict(re.findall(r"@prefix\s+([\w.-]*):\s*<([^>]*)>", self._text, re.IGNORECASE))
            start = re.compile(r"\s*(?:<([^>]*)>|([\w.-]*):(\S*))")
            for number, line in enumerate(self._text.splitlines(), 1):
                match = start.match(line)
                if not match:
                    continue
                if match.group(1) is not None:
                    written = match.group(1)
                    candidates = [written] + [base + written for base in bases]
                elif match.group(2) in namespaces:
                    candidates = [namespaces[match.group(2)] + match.group(3)]
                else:
                    continue
                for iri in candidates:
                    self._subjects.setdefault(iri, number)
        return self._text

    def line_of(self, iri: str) -> int | None:
        text = self._index()
        if iri in self._subjects:
            return self._subjects[iri]
        spellings = _spellings(text, iri)
        for number, line in enumerate(text.splitlines(), 1):
            if any(s in line for s in spellings):
                return number
        return None


def once_each(violations: list[Violation]) -> list[Violation]:
    """Each failure once: results that differ only in the constraint component (a value that
    fails a shape's ``sh:or`` and its ``sh:pattern``, or each branch of an ``sh:or``) are one
    thing for a curator to fix, printed once with every component that failed, in order."""
    merged: dict[tuple, Violation] = {}
    for violation in violations:
        key = (violation.locations, violation.source_file, violation.focus_node, violation.path,
               violation.value, violation.message, violation.severity, violation.source_shape)
        first = merged.get(key)
        if first is None:
            merged[key] = violation
        elif violation.constraint not in first.constraint.split(", "):
            merged[key] = replace(first, constraint=f"{first.constraint}, {violation.constraint}")
    return list(merged.values())
