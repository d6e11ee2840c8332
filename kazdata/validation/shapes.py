"""What the shapes file asks for, sorted by where it runs fast.

A shape's *targets* and its *SPARQL-based constraints* (sh:sparql) are SPARQL queries over the
whole data: they run once each, over the union of all sources, in Oxigraph
(:mod:`kazdata.validation.sparql`). The *core* constraints (sh:minCount, sh:class, sh:or, ...)
run in pySHACL, one partition of the sources at a time (:mod:`kazdata.validation.partitions`),
on a copy of the shapes graph whose targets are replaced by the partition's focus nodes.

Nothing here names a rule: everything is read from the shapes graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import rdflib
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node, Variable

from kazdata.validation import prebinding

TARGET_PREDICATES = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
_CORE_PARAMETERS = frozenset(p for p in ALL_CONSTRAINT_PARAMETERS if p != SH.sparql)
_LIST_PARAMETERS = (SH["or"], SH["and"], SH.xone)
_SHAPE_PARAMETERS = (SH.node, SH["not"], SH.qualifiedValueShape)


@dataclass(frozen=True)
class SparqlConstraint:
    """One sh:sparql constraint of a shape, with what pySHACL would report for it."""

    # shapes and the sh:sparql node are IRIs or blank nodes; rdflib types every term as Node
    shape: Node
    node: Node
    select: str
    prefixes: dict[str, str]
    messages: tuple[str, ...]
    severity: str
    shape_path: str | None  # the SPARQL path of a property shape, for $PATH
    is_property_shape: bool
    shown_path: str | None = None  # its sh:resultPath as a report shows it (path_text)
    whole_graph: bool = True  # proved to give pre-binding's answers when run once (see prebinding)


@dataclass
class ShapesPlan:
    """The shapes graph split into target queries, SPARQL constraints and core shapes."""

    shapes: Graph
    targets: dict[Node, list[str]] = field(default_factory=dict)  # shape -> SELECT ?this, classes aside
    sparql_constraints: list[SparqlConstraint] = field(default_factory=list)
    core_shapes: Graph = field(default_factory=Graph)  # shapes graph without targets and sh:sparql
    core_targeted: list[Node] = field(default_factory=list)  # shapes pySHACL must run
    effective: Graph = field(default_factory=Graph)  # the shapes graph less what SHACL says to ignore
    values_need_only_types: bool = True  # core constraints look at a value node's rdf:type only

    def focus_shapes(self, shape) -> list:
        """The shapes whose focus nodes are ``shape``'s: itself if targeted, else its parents'."""
        if shape in self.targets:
            return [shape]
        parents = [parent for parent in self.shapes.subjects(SH.property, shape) if parent in self.targets]
        if not parents:
            raise ValueError(f"{shape}: a sh:sparql constraint runs once over all sources, so its shape must "
                             "have a target or be the sh:property of a shape that has one")
        return parents


@contextlib.contextmanager
def as_written() -> Iterator[None]:
    """rdflib keeps lexical forms while this is open (it would write "1"^^xsd:boolean as "true").

    rdflib reads this switch when it builds each literal; validation runs in one thread.
    """
    before = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = before


def read_shapes(paths) -> Graph:
    """The shapes graph of the given Turtle files, each literal as written."""
    shapes = Graph()
    with as_written():
        for path in paths:
            shapes.parse(path, format="turtle")
    return shapes


def _severity(shapes: Graph, shape) -> str:
    severity = shapes.value(shape, SH.severity)
    return str(severity).rsplit("#", 1)[-1] if severity else "Violation"


def _prefixes(shapes: Graph, node) -> dict[str, str]:
    """sh:prefixes -> sh:declare, as a prefix -> namespace table, following owl:imports within the
    shapes graph (SHACL: the declarations of the ontologies a sh:prefixes node imports count too)."""
    table: dict[str, str] = {}
    seen: set = set()
    stack = list(shapes.objects(node, SH.prefixes))
    while stack:
        declarer = stack.pop()
        if declarer in seen:
            continue
        seen.add(declarer)
        stack.extend(shapes.objects(declarer, OWL.imports))
        for declaration in shapes.objects(declarer, SH.declare):
            prefix, namespace = shapes.value(declaration, SH.prefix), shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                table[str(prefix)] = str(namespace)
    return table


def sparql_path(shapes: Graph, path) -> str:
    """A SHACL property path as SPARQL property-path syntax."""
    if isinstance(path, URIRef):
        return f"<{path}>"
    if (path, RDF.first, None) in shapes:
        return "(" + "/".join(sparql_path(shapes, p) for p in Collection(shapes, path)) + ")"
    for predicate, template in ((SH.alternativePath, None), (SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                                (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
        inner = shapes.value(path, predicate)
        if inner is None:
            continue
        if template is None:
            return "(" + "|".join(sparql_path(shapes, p) for p in Collection(shapes, inner)) + ")"
        return template.format(sparql_path(shapes, inner))
    raise ValueError(f"not a SHACL property path: {path}")


def path_text(shapes: Graph, path) -> str | None:
    """sh:resultPath as a report shows it: a predicate's IRI, or a complex path in SPARQL syntax.

    (pySHACL's results carry a complex path as a copied blank node, whose label means nothing
    to a curator and differs from run to run.)
    """
    if path is None:
        return None
    return str(path) if isinstance(path, URIRef) else sparql_path(shapes, path)


def target_classes(shapes: Graph, shape) -> list:
    """The classes whose SHACL instances ``shape`` targets: sh:targetClass, and itself if a class."""
    classes = list(shapes.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
        classes.append(shape)  # an implicit class target
    return classes


def sparql_targets(shapes: Graph, shape) -> list[str]:
    """Each sh:target of ``shape`` (a SPARQL target, or of a SPARQL target type) as a SELECT ?this."""
    queries = []
    for target in shapes.objects(shape, SH.target):
        definition = target if shapes.value(target, SH.select) is not None else shapes.value(target, RDF.type)
        select = shapes.value(definition, SH.select) if definition is not None else None
        if select is None:
            raise ValueError(f"{shape}: sh:target {target} is neither a SPARQL target nor of a SPARQL target type")
        if (definition, SH.parameter, None) in shapes:
            raise ValueError(f"{shape}: SPARQL target types with parameters are not supported")
        prefixes = _prefixes(shapes, definition)
        try:
            prebinding.check(str(select), prefixes, pre_bound=frozenset())
        except prebinding.QueryRefused as reason:
            raise ValueError(f"{shape}: sh:target {target}: {reason}") from None
        header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(prefixes.items()))
        queries.append(header + str(select))
    return queries


def _target_queries(shapes: Graph, shape) -> list[str]:
    """Each target of ``shape`` but its classes as a SPARQL query selecting ``?this`` (run over the union).

    Class targets are left to the caller, which knows the data's subclasses (target_classes).
    """
    queries = []
    for node in shapes.objects(shape, SH.targetNode):
        term = node.n3() if isinstance(node, (URIRef, Literal)) else None
        if term is None:
            raise ValueError(f"{shape}: sh:targetNode must be an IRI or a literal")
        queries.append(f"SELECT ?this WHERE {{ VALUES ?this {{ {term} }} }}")
    for predicate in shapes.objects(shape, SH.targetSubjectsOf):
        queries.append(f"SELECT DISTINCT ?this WHERE {{ ?this <{predicate}> ?object }}")
    for predicate in shapes.objects(shape, SH.targetObjectsOf):
        queries.append(f"SELECT DISTINCT ?this WHERE {{ ?subject <{predicate}> ?this }}")
    return queries + sparql_targets(shapes, shape)


def _shape_references(shapes: Graph, shape) -> Iterator[tuple[object, bool]]:
    """(shape reached from ``shape``, whether it is evaluated on a value node rather than the focus)."""
    on_values = shapes.value(shape, SH.path) is not None
    for parameter in _SHAPE_PARAMETERS:
        for inner in shapes.objects(shape, parameter):
            yield inner, on_values
    for parameter in _LIST_PARAMETERS:
        for members in shapes.objects(shape, parameter):
            for inner in Collection(shapes, members):
                yield inner, on_values
    for inner in shapes.objects(shape, SH.property):
        yield inner, False


def _looks_beyond_types(shapes: Graph, roots) -> bool:
    """Whether any constraint evaluated on a *value* node follows a path from it.

    A partition holds its focus nodes' full descriptions but only the rdf:type of the nodes
    they link to; that suffices unless a shape reached through sh:node, sh:or, ... from a
    property shape has a sh:path of its own.
    """
    seen: set = set()
    stack = [(root, False) for root in roots]
    while stack:
        shape, on_value = stack.pop()
        if (shape, on_value) in seen:
            continue
        seen.add((shape, on_value))
        if on_value and (shapes.value(shape, SH.path) is not None or (shape, SH.property, None) in shapes
                         or (shape, SH.sparql, None) in shapes):
            return True
        for inner, inner_on_value in _shape_references(shapes, shape):
            stack.append((inner, on_value or inner_on_value))
    return False


_VALIDATORS = (SH.validator, SH.nodeValidator, SH.propertyValidator)


def custom_parameters(shapes: Graph) -> frozenset:
    """The parameters (sh:path of sh:parameter) of the SPARQL-based constraint components the
    shapes graph declares: whatever their class, a node with parameters and a validator."""
    return frozenset(shapes.value(parameter, SH.path)
                     for component in set(shapes.subjects(SH.parameter, None))
                     if any((component, v, None) in shapes for v in _VALIDATORS)
                     for parameter in shapes.objects(component, SH.parameter)) - {None}


def check_validators(shapes: Graph) -> None:
    """Refuse a validator query SHACL forbids (its parameters and $value are pre-bound too)."""
    for component in set(shapes.subjects(SH.parameter, None)):
        names = {Variable(str(path).rsplit("#", 1)[-1].rsplit("/", 1)[-1])
                 for parameter in shapes.objects(component, SH.parameter)
                 for path in shapes.objects(parameter, SH.path)}
        for kind in _VALIDATORS:
            for validator in shapes.objects(component, kind):
                query = shapes.value(validator, SH.select) or shapes.value(validator, SH.ask)
                if query is None:
                    continue
                try:
                    prebinding.check(str(query), _prefixes(shapes, validator),
                                     pre_bound=prebinding.PRE_BOUND | names | {Variable("value")})
                except prebinding.QueryRefused as reason:
                    raise ValueError(f"{component}: {kind.n3(shapes.namespace_manager)} {validator}: {reason}") from None


def _has_core_constraints(shapes: Graph, shape, custom: frozenset = frozenset()) -> bool:
    return any(p in _CORE_PARAMETERS or p in custom for p in shapes.predicates(shape, None))


def _is_true(value) -> bool:
    """SHACL's boolean parameters count only the literal true ("1"^^xsd:boolean is not it)."""
    return isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"


def plan(shapes: Graph) -> ShapesPlan:
    """Read targets, SPARQL constraints and core shapes from a shapes graph."""
    result = ShapesPlan(shapes=shapes)
    active = {s for s in set(shapes.subjects()) if shapes.value(s, SH.deactivated) != Literal(True)}
    for shape in sorted((s for s in active if any((s, p, None) in shapes for p in TARGET_PREDICATES)
                         or (s, RDF.type, RDFS.Class) in shapes and (s, RDF.type, SH.NodeShape) in shapes), key=str):
        result.targets[shape] = _target_queries(shapes, shape)
    nested = {inner for s in active for inner, _ in _shape_references(shapes, s)
              if inner is not None and not any(inner == p for p in shapes.objects(s, SH.property))}
    for shape, node in sorted(shapes.subject_objects(SH.sparql), key=lambda so: (str(so[0]), str(so[1]))):
        if shape not in active or shapes.value(node, SH.deactivated) == Literal(True):
            continue
        if shape in nested:
            raise ValueError(f"{shape}: a shape with sh:sparql may not be used inside sh:node, sh:or, ...")
        result.focus_shapes(shape)  # raises if it has no focus nodes of its own
        path = shapes.value(shape, SH.path)
        select, prefixes = str(shapes.value(node, SH.select)), _prefixes(shapes, node)
        try:
            whole = prebinding.whole_graph_equivalent(prebinding.check(select, prefixes))
        except prebinding.QueryRefused as reason:
            raise ValueError(f"{shape}: sh:sparql {node}: {reason}") from None
        result.sparql_constraints.append(SparqlConstraint(
            shape=shape, node=node, select=select, prefixes=prefixes, whole_graph=whole,
            messages=tuple(str(m) for m in (*shapes.objects(node, SH.message), *shapes.objects(shape, SH.message))),
            severity=_severity(shapes, shape),
            shape_path=sparql_path(shapes, path) if path is not None else None,
            shown_path=path_text(shapes, path),
            is_property_shape=path is not None))
    core, effective = Graph(), Graph()
    for triple in shapes:
        if triple[1] == SH.uniqueLang and not _is_true(triple[2]):
            continue  # pySHACL would take "1"^^xsd:boolean for true
        effective.add(triple)
        if triple[1] == SH.sparql or (triple[0] in result.targets and triple[1] in TARGET_PREDICATES):
            continue
        core.add(triple)
    result.core_shapes, result.effective = core, effective
    check_validators(shapes)
    custom = custom_parameters(shapes)
    # a shape using a SPARQL-based component runs in pySHACL (the compiler never translates one)
    result.core_targeted = [s for s in result.targets if _has_core_constraints(core, s, custom)
                            or any(_has_core_constraints(core, p, custom) for p in core.objects(s, SH.property))]
    # a validator may read any part of the data, so pySHACL then gets all of it
    result.values_need_only_types = not custom and not _looks_beyond_types(core, result.core_targeted)
    return result
