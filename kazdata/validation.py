"""Validate curated sources against the SHACL shapes, reporting each violation with its file.

pySHACL runs on a plain rdflib graph (several times faster than through an Oxigraph-backed
store). The sources are validated together, because rules such as "a total is not smaller than
the sum of its parts" cross sources; each violation names the file that defines its focus node.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from rdflib import Graph, Literal
from rdflib.namespace import SH

from kazdata import bundled
from kazdata.sources import load_source


@dataclass(frozen=True)
class Violation:
    """One SHACL result, in terms a curator can act on."""

    focus_node: str
    path: str | None
    value: str | None
    message: str
    severity: str
    source_shape: str
    constraint: str
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


def _term_text(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, Literal):
        return term.n3()
    return str(term)


def _spellings(text: str, iri: str) -> list[str]:
    """How ``iri`` may be written in a Turtle file: in full, relative to @base, or prefixed."""
    spellings = [f"<{iri}>"]
    for base in re.findall(r"@base\s+<([^>]*)>", text, re.I):
        if iri.startswith(base):
            spellings.append(f"<{iri[len(base):]}>")
    for prefix, namespace in re.findall(r"@prefix\s+([\w.-]*):\s*<([^>]*)>", text, re.I):
        if iri.startswith(namespace):
            spellings.append(f"{prefix}:{iri[len(namespace):]}")
    return spellings


def locate(path: Path, iri: str) -> int | None:
    """The line where ``iri`` is first written as a subject (else first mentioned), or None."""
    text = path.read_text(encoding="utf-8")
    spellings = _spellings(text, iri)
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if any(line.lstrip().startswith(s) for s in spellings):
            return number
    for number, line in enumerate(lines, 1):
        if any(s in line for s in spellings):
            return number
    return None


def _shapes_graph(paths: Sequence[Path]) -> Graph:
    shapes = Graph()
    for path in paths:
        shapes.parse(path, format="turtle")
    return shapes


def validate_sources(paths: Sequence[Path], *, shapes_paths: Sequence[Path] | None = None,
                     ontology_path: Path | None = None) -> ValidationReport:
    """Validate the union of the given Turtle files with the shapes and the ontology.

    Raises SourceError (file, line, column) if a file does not parse: syntax is checked by
    ``load_source`` before rdflib sees the file. Returns a report otherwise.
    """
    data = Graph()
    defined_in: dict[str, list[Path]] = {}
    for path in paths:
        source = load_source(Path(path), check_name=False)  # checks syntax with a precise position
        part = Graph().parse(source.path, format="turtle")
        for subject in set(part.subjects()):
            defined_in.setdefault(str(subject), []).append(source.path)
        data += part
    # The ontology is merged into the data graph (pySHACL's ont_graph alone did not make
    # facts such as ``kaz:Deaths a kaz:FigureKind`` visible to sh:class), so shapes that target
    # schema:Event also reach kaz:Strike through rdfs:subClassOf.
    data += Graph().parse(ontology_path or bundled.ontology_file(), format="turtle")
    shapes = _shapes_graph(shapes_paths or bundled.shapes_files())
    _conforms, results_graph, _text = pyshacl.validate(
        data, shacl_graph=shapes, inference="none",
        advanced=True, allow_warnings=True, meta_shacl=False)
    report = ValidationReport()
    # top-level results only: those nested under sh:detail repeat a failed sh:node check
    for result in results_graph.objects(None, SH.result):
        focus = results_graph.value(result, SH.focusNode)
        messages = sorted(str(m) for m in results_graph.objects(result, SH.resultMessage))
        severity = results_graph.value(result, SH.resultSeverity)
        report.violations.append(Violation(
            focus_node=str(focus),
            path=_term_text(results_graph.value(result, SH.resultPath)),
            value=_term_text(results_graph.value(result, SH.value)),
            message="; ".join(messages) or "(the shape gives no message)",
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            source_shape=str(results_graph.value(result, SH.sourceShape)),
            constraint=str(results_graph.value(result, SH.sourceConstraintComponent)),
            source_file=str(defined_in[str(focus)][0]) if str(focus) in defined_in else None,
            locations=tuple(f"{path}:{locate(path, str(focus)) or '?'}" for path in defined_in.get(str(focus), [])),
        ))
    report.violations.sort(key=lambda v: (v.source_file or "", v.focus_node, v.source_shape, v.message))
    return report
