"""The core constraints, compiled to SPARQL and run in Oxigraph over the union of the sources.

Every targeted shape's focus nodes, computed once (:func:`kazdata.validation.sparql.focus_nodes`),
are written into a scratch named graph as ``<key> FOCUS_OF ?node``, one key per targeted shape;
each constraint of a top-level shape is then one SELECT over the focus sets it applies to (a
property shape's are its parents'), so the query count does not grow with the data. A property
shape shared by two parents is checked once per parent, as pySHACL does, so the reports match.

A targeted shape whose constraints (or whose property shapes' constraints) the compiler cannot
translate exactly is handed back as a *fallback*: the caller validates it with pySHACL
(:mod:`kazdata.validation.partitions`), never skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDFS, SH

from kazdata.validation.compiler import FOCUS_GRAPH, FOCUS_OF, CoreCheck, Compiler, Unsupported
from kazdata.validation.report import Finding, term_text
from kazdata.validation.shapes import ShapesPlan

_FOCUS_KEY = "urn:kazdata:validation:focus:{}"


@dataclass
class CorePlan:
    """The compiled checks, and the targeted shapes left to pySHACL with the reason for each."""

    checks: list[CoreCheck] = field(default_factory=list)
    fallback: dict[URIRef | BNode, str] = field(default_factory=dict)  # shape -> why it was not compiled
    keys: dict[URIRef | BNode, str] = field(default_factory=dict)  # targeted shape -> its focus key


def subclass_closure(store: ox.Store):
    """A function giving a class and every class below it by rdfs:subClassOf in the union (cached)."""
    cache: dict[URIRef, list[str]] = {}

    def subclasses(cls: URIRef) -> list[str]:
        if cls not in cache:
            rows = store.query(f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* <{cls}> }}",
                               use_default_graph_as_union=True)
            cache[cls] = sorted({row["c"].value for row in rows if isinstance(row["c"], ox.NamedNode)} | {str(cls)})
        return cache[cls]
    return subclasses


def _active(shapes: Graph, shape) -> bool:
    return shapes.value(shape, SH.deactivated) != Literal(True)


def compile_shapes(shapes_plan: ShapesPlan, store: ox.Store) -> CorePlan:
    """Compile every targeted shape with core constraints and its property shapes."""
    shapes = shapes_plan.shapes
    compiler = Compiler(shapes, subclass_closure(store))
    result = CorePlan()
    members: dict = {}  # top-level shape -> keys of the focus sets it is checked for
    for index, target in enumerate(shapes_plan.core_targeted):
        key = result.keys[target] = _FOCUS_KEY.format(index)
        if not _active(shapes, target):
            continue
        units = [target, *(p for p in shapes.objects(target, SH.property) if _active(shapes, p))]
        try:
            for unit in units:
                _require_message(shapes, unit, compiler.checks(unit, [key]))
        except Unsupported as reason:
            result.fallback[target] = str(reason)
            continue
        for unit in units:
            members.setdefault(unit, []).append(key)
    for shape, keys in sorted(members.items(), key=lambda item: str(item[0])):
        result.checks.extend(compiler.checks(shape, keys))
    return result


def _require_message(shapes: Graph, shape, checks: list[CoreCheck]) -> None:
    """pySHACL writes a generic message for a shape without sh:message; that text is not reproduced."""
    if checks and shapes.value(shape, SH.message) is None:
        raise Unsupported(f"{shape}: no sh:message (pySHACL would write its own text)")


def mark_focus(store: ox.Store, core: CorePlan, focus: dict[object, set]) -> None:
    """Write each compiled shape's focus nodes into the scratch graph the checks read."""
    graph = ox.NamedNode(FOCUS_GRAPH)
    predicate = ox.NamedNode(FOCUS_OF)
    store.bulk_extend(ox.Quad(ox.NamedNode(key), predicate, node, graph)
                      for shape, key in core.keys.items() if shape not in core.fallback
                      for node in focus.get(shape, ()))


def unmark_focus(store: ox.Store) -> None:
    store.remove_graph(ox.NamedNode(FOCUS_GRAPH))


def run_checks(store: ox.Store, shapes: Graph, checks: Iterable[CoreCheck]) -> list[Finding]:
    """Run each check over the union and turn its rows into findings as pySHACL reports them."""
    findings = []
    for check in checks:
        messages = sorted({str(m) for m in shapes.objects(check.shape, SH.message)})
        severity = shapes.value(check.shape, SH.severity)
        severity_name = str(severity).rsplit("#", 1)[-1] if severity else "Violation"
        for row in store.query(check.query, use_default_graph_as_union=True):
            value = row["value"] if check.reports_value else None
            findings.append(Finding(
                focus=row["this"], path=check.path, value=term_text(value), message="; ".join(messages),
                severity=severity_name, source_shape=str(check.shape), constraint=str(check.component)))
    return findings
