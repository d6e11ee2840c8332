"""The core constraints, compiled to SPARQL and run in Oxigraph over the union of the sources.

Each check is one query over all focus nodes of its shape (:mod:`kazdata.validation.compiler`).
The focus nodes are bound inside the query, from the targets: a class target as ``?this a ?type``
against the class and its subclasses (the closure is computed once), subjects-of and objects-of
as the triple pattern, and a SPARQL target, run once, from a scratch named graph that holds its
answers (``<key> FOCUS_OF ?this``). A property shape is checked once per parent shape, as pySHACL
does, so the reports match; ``?key`` tells the parents apart.

A targeted shape whose constraints (or whose property shapes' constraints) the compiler cannot
translate exactly is handed back as a *fallback*: the caller validates it with pySHACL
(:mod:`kazdata.validation.partitions`), never skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kazdata.validation.compiler import (
    FOCUS_GRAPH,
    FOCUS_OF,
    Compiler,
    CoreCheck,
    Unsupported,
    term,
)
from kazdata.validation.report import Finding, term_text
from kazdata.validation.shapes import (
    ShapesPlan,
    plan,
    read_shapes,
    sparql_targets,
    target_classes,
)
from kazdata.validation.sparql import (
    FocusNodes,
    instance_pattern,
    load_union,
    select,
    subclass_closure,
)

_SCRATCH_KEY = "urn:kazdata:validation:target:{}"
_PARENT_KEY = "urn:kazdata:validation:shape:{}"


@dataclass
class CorePlan:
    """The compiled checks, the SPARQL targets they read, and the shapes left to pySHACL (and why)."""

    checks: list[CoreCheck] = field(default_factory=list)
    fallback: dict[Node, str] = field(default_factory=dict)
    scratch: dict[str, str] = field(default_factory=dict)  # SPARQL target query -> its key in the scratch graph


def _active(shapes: Graph, shape) -> bool:
    return shapes.value(shape, SH.deactivated) != Literal(True)


def compile_shapes(shapes_plan: ShapesPlan, store: ox.Store) -> CorePlan:
    """Compile every targeted shape with core constraints, and its property shapes."""
    shapes = shapes_plan.shapes
    subclasses = subclass_closure(store)
    compiler = Compiler(shapes, subclasses)
    result = CorePlan()
    parents: dict = {}  # top-level shape -> the targeted shapes whose focus nodes it is checked for
    for target in shapes_plan.core_targeted:
        if not _active(shapes, target):
            continue
        units = [target, *(p for p in shapes.objects(target, SH.property) if _active(shapes, p))]
        try:
            for unit in units:
                compiler.checks(unit, "{}")
        except Unsupported as reason:
            result.fallback[target] = str(reason)
            continue
        for unit in units:
            parents.setdefault(unit, []).append(target)
    index = {shape: number for number, shape in enumerate(shapes_plan.core_targeted)}
    for unit, targets in sorted(parents.items(), key=lambda item: str(item[0])):
        branches = [f"{{ {clause} BIND (<{_PARENT_KEY.format(index[target])}> AS ?key) }}"
                    for target in targets for clause in _target_clauses(shapes, target, subclasses, result)]
        focus = "{ SELECT DISTINCT ?key ?this WHERE { " + (" UNION ".join(branches) or "VALUES ?this {}") + " } }"
        result.checks.extend(compiler.checks(unit, focus))
    return result


def _target_clauses(shapes: Graph, shape, subclasses: Callable[[object], list[str] | None], result: CorePlan) -> list[str]:
    """Patterns binding ?this to the focus nodes of each target of ``shape`` (sh:targetClass etc.)."""
    clauses = instance_pattern("?this", target_classes(shapes, shape), subclasses)
    nodes = [term(node) for node in shapes.objects(shape, SH.targetNode)]
    if nodes:
        clauses.append("VALUES ?this { " + " ".join(nodes) + " }")
    clauses += [f"?this <{p}> ?object" for p in shapes.objects(shape, SH.targetSubjectsOf)]
    clauses += [f"?subject <{p}> ?this" for p in shapes.objects(shape, SH.targetObjectsOf)]
    for query in sparql_targets(shapes, shape):
        key = result.scratch.setdefault(query, _SCRATCH_KEY.format(len(result.scratch)))
        clauses.append(f"GRAPH <{FOCUS_GRAPH}> {{ <{key}> <{FOCUS_OF}> ?this }}")
    return clauses


def share(core: CorePlan, index: int, count: int) -> list[CoreCheck]:
    """The checks that process ``index`` of ``count`` runs (every process compiles the same plan).

    The first process also loads the sources for the report and runs the sh:sparql rules, so it
    takes one check in ``2 * count - 1`` and each helper two; the checks that read a SPARQL target
    go to the last helper, so that only one process runs those targets.
    """
    if count == 1:
        return list(core.checks)
    turns = [0] + [helper for helper in range(1, count) for _ in range(2)]
    others = [c for c in core.checks if FOCUS_GRAPH not in c.query]
    mine = [check for number, check in enumerate(others) if turns[number % len(turns)] == index]
    if index == count - 1:
        mine += [c for c in core.checks if FOCUS_GRAPH in c.query]
    return mine


def run_compiled(store: ox.Store, shapes: Graph, core: CorePlan, checks: list[CoreCheck],
                 focus: FocusNodes) -> list[Finding]:
    """Run ``checks`` with the scratch graph of the SPARQL targets they read, removed afterwards."""
    mark_focus(store, core, focus, checks)
    try:
        return run_checks(store, shapes, checks)
    finally:
        unmark_focus(store)


def validate_share(paths: list[Path], ontology: Path, shapes_paths: list[Path], index: int, count: int) -> list[Finding]:
    """In a helper process: load the union and the shapes itself and run one share of the checks.

    Loading again costs a few seconds on another core; two threads querying one store took as
    long as one after the other, so a second process is the way to use a second core for the
    queries (decision 008).
    """
    shapes_plan = plan(read_shapes(shapes_paths))
    store = load_union(paths, ontology)
    focus = FocusNodes(store, shapes_plan)
    compiled = compile_shapes(shapes_plan, store)
    return run_compiled(store, shapes_plan.shapes, compiled, share(compiled, index, count), focus)


def mark_focus(store: ox.Store, core: CorePlan, focus: FocusNodes, checks: list[CoreCheck]) -> None:
    """Write the answers of the SPARQL targets the checks read into the scratch graph.

    Every answer is computed before anything is written: a target query over the union must not
    see the scratch graph (nor may the sh:sparql rules, which run before; see unmark_focus).
    """
    answers = {key: focus.answer(query) for query, key in core.scratch.items()
               if any(f"<{key}>" in check.query for check in checks)}
    graph, predicate = ox.NamedNode(FOCUS_GRAPH), ox.NamedNode(FOCUS_OF)
    for key, nodes in answers.items():
        subject = ox.NamedNode(key)
        store.extend([ox.Quad(subject, predicate, node, graph) for node in nodes])


def unmark_focus(store: ox.Store) -> None:
    store.remove_graph(ox.NamedNode(FOCUS_GRAPH))


def _generated(shapes: Graph, check: CoreCheck) -> str:
    """A message for a shape without sh:message (pySHACL writes its own; this one names the
    constraint and the shape's parameters for it, which is what a curator needs to fix the data)."""
    name = str(check.component).rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    parameter = URIRef(f"{SH}{name[0].lower()}{name[1:]}")
    values = sorted(term_text(v) for v in shapes.objects(check.shape, parameter) if not isinstance(v, BNode))
    where = f" on {check.path}" if check.path else ""
    return f"{name} constraint{where} not met" + (f" (sh:{parameter.rsplit('#', 1)[-1]} {', '.join(values)})"
                                                   if values else "")


def run_checks(store: ox.Store, shapes: Graph, checks: Iterable[CoreCheck]) -> list[Finding]:
    """Run each check over the union and turn its rows into findings as pySHACL reports them."""
    findings = []
    for check in checks:
        messages = sorted({str(m) for m in shapes.objects(check.shape, SH.message)}) or [_generated(shapes, check)]
        severity = shapes.value(check.shape, SH.severity)
        severity_name = str(severity).rsplit("#", 1)[-1] if severity else "Violation"
        for row in select(store, check.query):
            value = row["value"] if check.reports_value else None
            findings.append(Finding(
                focus=row["this"], path=term_text(row["path"]) if check.dynamic_path else check.path,
                value=term_text(value), message="; ".join(messages),
                severity=severity_name, source_shape=str(check.shape), constraint=str(check.component)))
    return findings
