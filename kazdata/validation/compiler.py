"""SHACL core constraints as SPARQL: one query per (shape, constraint) over all its focus nodes.

A top-level shape (a targeted shape, or a property shape of one) becomes one SELECT per
constraint parameter it carries, over all its focus nodes at once: they are bound by a
group pattern that :mod:`kazdata.validation.core` builds from the targets. A shape
reached from a constraint (sh:node, sh:or, sh:and, sh:not, sh:xone, sh:qualifiedValueShape) is
compiled into a boolean SPARQL expression on the node it is checked against, so a whole sh:or of
sh:class alternatives is one FILTER, not one pySHACL validation per value node.

The semantics are SHACL's (https://www.w3.org/TR/shacl/#core-components), over the data as
Oxigraph holds it: sh:class follows rdf:type/rdfs:subClassOf*, sh:datatype also asks a literal of a
SPARQL-supported datatype to be well-formed (Oxigraph's cast of it succeeds), sh:pattern matches
STR of the value with sh:flags, sh:languageIn uses langMatches, and a comparison that errors (an
ill-typed or incomparable value) is a failure. Every atom is error-free (COALESCE), so sh:not of a
failed comparison is a pass, not an error.

Whatever this module cannot compile exactly raises :class:`Unsupported`; the caller then validates
that shape with pySHACL instead. Nothing here names a rule of the shapes file.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

from kazdata.validation import pairs
from kazdata.validation.shapes import custom_parameters, path_text, sparql_path

FOCUS_GRAPH = "urn:kazdata:validation:focus"
FOCUS_OF = "urn:kazdata:validation:focus-of"

# datatypes whose lexical space Oxigraph checks: a literal of one is well-formed iff its cast works
_CHECKED_DATATYPES = frozenset(XSD[name] for name in (
    "boolean", "double", "float", "decimal", "integer", "dateTime", "date", "time", "duration",
    "yearMonthDuration", "dayTimeDuration", "gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth"))
_NODE_KINDS = {
    SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isIRI({v}) || isBlank({v}))", SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}
# XSD lexical spaces of the numeric datatypes with no size limit, whose values Oxigraph bounds
_LEXICAL_SPACES = {XSD.decimal: "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$", XSD.integer: "^[+-]?[0-9]+$"}
_NUMERIC_BOUNDS = frozenset({XSD.decimal, XSD.integer, XSD.double, XSD.float})
_COMPARISONS = {SH.minInclusive: ">=", SH.minExclusive: ">", SH.maxInclusive: "<=", SH.maxExclusive: "<"}
# parameters that configure another parameter, or say nothing to check
_NOT_CONSTRAINTS = frozenset({
    RDF.type, SH.path, SH.name, SH.description, SH.message, SH.severity, SH.order, SH.group,
    SH.defaultValue, SH.flags, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.property,
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target,
    SH.prefixes, SH.declare, SH.select, SH.sparql})
_PLAIN_PREDICATES = frozenset({SH.deactivated})  # handled by the caller for top-level shapes


class Unsupported(Exception):
    """A construct this compiler does not translate exactly: validate the shape with pySHACL."""


@dataclass(frozen=True)
class CoreCheck:
    """One SELECT for one constraint of one top-level shape, and what its results carry.

    The query selects ``?key`` (which focus set), ``?this`` (the focus node) and, where SHACL gives
    one, ``?value``; ``uniqueLang`` queries select one row per repeated language.
    """

    shape: URIRef | BNode
    component: URIRef
    query: str
    path: str | None  # sh:resultPath as a report shows it (see kazdata.validation.shapes.path_text)
    reports_value: bool  # whether SHACL gives the result a sh:value (then the query selects ?value)
    dynamic_path: bool = False  # sh:closed: the query selects each result's ?path


def term(node) -> str:
    """An rdflib term in SPARQL syntax (literals with their datatype, so nothing is re-guessed)."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        text = json.dumps(str(node), ensure_ascii=False)
        if node.language:
            return f"{text}@{node.language}"
        return f"{text}^^<{node.datatype or XSD.string}>"
    raise Unsupported(f"a blank node ({node}) as a constraint value")


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class Compiler:
    """Compiles the shapes of one shapes graph; ``subclasses(c)`` gives c and its subclasses in the data."""

    def __init__(self, shapes: Graph, subclasses: Callable[[URIRef], list[str] | None]) -> None:
        self.shapes = shapes
        self.subclasses = subclasses
        self._names = itertools.count()
        # parameters of constraint components the shapes graph declares itself (never compiled)
        self._custom = custom_parameters(shapes)
        self._atoms: dict = {
            SH["class"]: self._class, SH.datatype: self._datatype, SH.nodeKind: self._node_kind,
            SH.pattern: self._pattern, SH.languageIn: self._language_in, SH["in"]: self._in,
            SH.minLength: self._length, SH.maxLength: self._length,
            SH.node: self._node, SH["or"]: self._or, SH["and"]: self._and, SH["not"]: self._not,
            SH.xone: self._xone, **{p: self._compare for p in _COMPARISONS},
        }

    # --- top-level shapes: one query per constraint ---

    def checks(self, shape, focus: str) -> list[CoreCheck]:
        """The queries that validate ``shape`` for the focus nodes ``focus`` binds. Raises Unsupported.

        ``focus`` is a group graph pattern binding ``?this`` and ``?key`` (which parent's focus set
        it is), with no duplicate (?key, ?this).
        """
        path_node = self.shapes.value(shape, SH.path)
        if path_node is not None and (shape, SH.property, None) in self.shapes:
            raise Unsupported(f"{shape}: sh:property on a property shape (its results are about the value nodes)")
        path = sparql_path(self.shapes, path_node) if path_node is not None else None
        shown = path_text(self.shapes, path_node)
        found: list[CoreCheck] = []
        for parameter, value in self._parameters(shape):  # sh:sparql runs elsewhere, sh:property as its own shape
            found.extend(self._top_level(shape, parameter, value, path, shown, focus))
        return found

    def _top_level(self, shape, parameter, value, path, shown, focus) -> Iterator[CoreCheck]:
        component = _component(parameter)
        if parameter in self._atoms:
            if path is None:
                atom = self._atoms[parameter](shape, parameter, value, "?this")
                yield CoreCheck(shape, component, f"SELECT ?key ?this ?value WHERE {{ {focus} "
                                f"FILTER (!({atom})) BIND (?this AS ?value) }}", None, True)
            else:
                atom = self._atoms[parameter](shape, parameter, value, "?value")
                yield CoreCheck(shape, component, f"SELECT DISTINCT ?key ?this ?value WHERE {{ {focus} "
                                f"?this {path} ?value FILTER (!({atom})) }}", shown, True)
        elif parameter in (SH.minCount, SH.maxCount):
            if path is None:
                raise Unsupported(f"{shape}: {parameter} on a node shape")
            yield CoreCheck(shape, component, self._count_query(
                focus, path, lambda _n: "true", parameter == SH.minCount, _count(value)), shown, False)
        elif parameter == SH.hasValue:
            condition = f"EXISTS {{ ?this {path} {term(value)} }}" if path else f"sameTerm(?this, {term(value)})"
            yield CoreCheck(shape, component, f"SELECT ?key ?this WHERE {{ {focus} FILTER (!({condition})) }}", shown, False)
        elif parameter == SH.qualifiedValueShape:
            if path is None:
                raise Unsupported(f"{shape}: sh:qualifiedValueShape on a node shape")
            self._no_disjoint(shape)
            for bound, at_least in ((SH.qualifiedMinCount, True), (SH.qualifiedMaxCount, False)):
                for limit in self.shapes.objects(shape, bound):
                    yield CoreCheck(shape, _component(bound), self._count_query(
                        focus, path, functools.partial(self.conforms, value, stack=()), at_least, _count(limit)),
                        shown, False)
        elif parameter == SH.uniqueLang:
            if not (isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"):
                return  # only the literal true asks for anything ("1"^^xsd:boolean does not)
            if path is None:
                raise Unsupported(f"{shape}: sh:uniqueLang on a node shape")
            yield CoreCheck(shape, component, f"SELECT DISTINCT ?key ?this (LCASE(LANG(?a)) AS ?language) WHERE {{ "
                            f"{focus} ?this {path} ?a, ?b FILTER (!sameTerm(?a, ?b) && isLiteral(?a) && "
                            f"isLiteral(?b) && LANG(?a) != \"\" && LCASE(LANG(?a)) = LCASE(LANG(?b))) }}", shown, False)
        elif parameter in pairs.HANDLED:
            def make(component, query, dynamic_path=False):
                return CoreCheck(shape, component, query, None if dynamic_path else shown, True, dynamic_path)
            yield from pairs.checks(self.shapes, shape, parameter, value, path, focus, make, Unsupported)
        else:
            raise Unsupported(f"{shape}: {parameter}")

    def _no_disjoint(self, shape) -> None:
        if self.shapes.value(shape, SH.qualifiedValueShapesDisjoint) == Literal(True):
            raise Unsupported(f"{shape}: sh:qualifiedValueShapesDisjoint")

    # --- nested shapes: a boolean expression on a node ---

    def conforms(self, shape, node: str, stack: tuple) -> str:
        """An error-free SPARQL expression, true iff the term ``node`` conforms to ``shape``."""
        if shape in stack:
            raise Unsupported(f"{shape}: a recursive shape")
        stack = (*stack, shape)
        severity = self.shapes.value(shape, SH.severity)
        if severity is not None and severity != SH.Violation:
            raise Unsupported(f"{shape}: a nested shape with severity {severity} (pySHACL counts its failures as passes)")
        if self.shapes.value(shape, SH.deactivated) is not None:
            raise Unsupported(f"{shape}: sh:deactivated on a nested shape")
        path_node = self.shapes.value(shape, SH.path)
        parts: list[str] = []
        if path_node is None:
            for parameter, value in self._parameters(shape):
                if parameter in self._atoms:
                    parts.append(self._atoms[parameter](shape, parameter, value, node, stack))
                elif parameter == SH.hasValue:
                    parts.append(f"sameTerm({node}, {term(value)})")
                else:
                    raise Unsupported(f"{shape}: {parameter} in a nested node shape")
            parts += [self.conforms(p, node, stack) for p in self.shapes.objects(shape, SH.property)]
            return "(" + " && ".join(parts or ["true"]) + ")"
        path = sparql_path(self.shapes, path_node)
        value = self._variable()
        atoms = []
        for parameter, argument in self._parameters(shape):
            if parameter in self._atoms:
                atoms.append(self._atoms[parameter](shape, parameter, argument, value, stack))
            elif parameter in (SH.minCount, SH.maxCount):
                parts.append(self._count_expression(node, path, lambda _n: "true", parameter == SH.minCount,
                                                    _count(argument)))
            elif parameter == SH.hasValue:
                parts.append(f"EXISTS {{ {node} {path} {term(argument)} }}")
            elif parameter == SH.qualifiedValueShape:
                self._no_disjoint(shape)
                for bound, at_least in ((SH.qualifiedMinCount, True), (SH.qualifiedMaxCount, False)):
                    for limit in self.shapes.objects(shape, bound):
                        parts.append(self._count_expression(
                            node, path, functools.partial(self.conforms, argument, stack=stack), at_least, _count(limit)))
            elif parameter == SH.uniqueLang and str(argument) == "true" and argument.datatype == XSD.boolean:
                a, b = self._variable(), self._variable()
                parts.append(f"NOT EXISTS {{ {node} {path} {a}, {b} FILTER (!sameTerm({a}, {b}) && isLiteral({a}) && "
                             f"isLiteral({b}) && LANG({a}) != \"\" && LCASE(LANG({a})) = LCASE(LANG({b}))) }}")
            elif parameter == SH.uniqueLang:
                continue  # anything but the literal true asks for nothing
            else:
                raise Unsupported(f"{shape}: {parameter} in a nested property shape")
        atoms += [self.conforms(p, value, stack) for p in self.shapes.objects(shape, SH.property)]
        if atoms:
            parts.append(f"NOT EXISTS {{ {node} {path} {value} FILTER (!({' && '.join(atoms)})) }}")
        return "(" + " && ".join(parts or ["true"]) + ")"

    def _parameters(self, shape) -> list[tuple]:
        """The SHACL parameters of ``shape`` that are constraints (other vocabularies are annotations)."""
        return sorted(((p, o) for p, o in self.shapes.predicate_objects(shape)
                       if (str(p).startswith(str(SH)) or p in self._custom)
                       and p not in _NOT_CONSTRAINTS and p not in _PLAIN_PREDICATES),
                      key=lambda po: (str(po[0]), str(po[1])))

    def _variable(self) -> str:
        return f"?n{next(self._names)}"

    def _count_expression(self, node: str, path: str, condition: Callable[[str], str], at_least: bool,
                          limit: int) -> str:
        """Whether ``node`` has at least (or at most) ``limit`` distinct values meeting ``condition``.

        Written as EXISTS over ``limit`` (or ``limit + 1``) pairwise distinct values, because an
        aggregate cannot be correlated with the outer node inside a FILTER; so only small counts.
        """
        needed = limit if at_least else limit + 1
        if needed == 0:
            return "true"
        if needed > 3:
            raise Unsupported(f"a nested count of {limit}")
        names = [self._variable() for _ in range(needed)]
        patterns = " ".join(f"{node} {path} {n} FILTER ({condition(n)})" for n in names)
        distinct = " && ".join(f"!sameTerm({a}, {b})" for a, b in itertools.combinations(names, 2))
        exists = f"EXISTS {{ {patterns} {f'FILTER ({distinct})' if distinct else ''} }}"
        return exists if at_least else f"!{exists}"

    def _count_query(self, focus: str, path: str, condition: Callable[[str], str], at_least: bool,
                     limit: int) -> str:
        """Focus nodes with fewer than (``at_least``) or more than ``limit`` distinct values meeting
        ``condition``: a FILTER on pairwise distinct values for small limits (no grouping), else
        a count per focus node."""
        try:
            test = self._count_expression("?this", path, condition, at_least, limit)
            return f"SELECT ?key ?this WHERE {{ {focus} FILTER (!({test})) }}"
        except Unsupported:
            pass
        test = f"?count < {limit}" if at_least else f"?count > {limit}"
        return (f"SELECT ?key ?this WHERE {{ {{ SELECT ?key ?this (COUNT(DISTINCT ?v) AS ?count) WHERE {{ {focus} "
                f"OPTIONAL {{ ?this {path} ?v FILTER ({condition('?v')}) }} }} GROUP BY ?key ?this }} FILTER ({test}) }}")

    # --- atoms: one constraint on one term ---

    def _class(self, shape, parameter, value, node, stack=()) -> str:
        if not isinstance(value, URIRef):
            raise Unsupported(f"{shape}: sh:class {value}")
        below = self.subclasses(value)
        if below is None:  # a blank node below the class: follow the path (a query cannot name it)
            return f"(!isLiteral({node}) && EXISTS {{ {node} <{RDF.type}>/<{RDFS.subClassOf}>* <{value}> }})"
        # one EXISTS per class, the class written into the pattern: Oxigraph 0.5 is slow on
        # `EXISTS { ?v a ?k FILTER (?k IN (...)) }` when ?v has many triples (a news article that is
        # schema:about every event), and fast this way; the figures are in decision 008
        exists = " || ".join(f"EXISTS {{ {node} a <{c}> }}" for c in below)
        return f"(!isLiteral({node}) && ({exists}))"

    def _datatype(self, shape, parameter, value, node, stack=()) -> str:
        if value == RDF.langString:
            return f"(isLiteral({node}) && LANG({node}) != \"\")"
        check = f" && COALESCE(isLiteral(<{value}>({node})), false)" if value in _CHECKED_DATATYPES else ""
        if value in _LEXICAL_SPACES:  # unbounded in XSD, bounded in Oxigraph: test the lexical form
            check = f" && REGEX(STR({node}), \"{_LEXICAL_SPACES[value]}\")"
        return f"(isLiteral({node}) && sameTerm(DATATYPE({node}), <{value}>){check})"

    def _node_kind(self, shape, parameter, value, node, stack=()) -> str:
        if value not in _NODE_KINDS:
            raise Unsupported(f"{shape}: sh:nodeKind {value}")
        return _NODE_KINDS[value].format(v=node)

    def _pattern(self, shape, parameter, value, node, stack=()) -> str:
        flags = self.shapes.value(shape, SH.flags)
        arguments = _string(str(value)) + (f", {_string(str(flags))}" if flags is not None else "")
        return f"(!isBlank({node}) && COALESCE(REGEX(STR({node}), {arguments}), false))"

    def _language_in(self, shape, parameter, value, node, stack=()) -> str:
        ranges = [str(r) for r in Collection(self.shapes, value)]
        tests = " || ".join(f"langMatches(LANG({node}), {_string(r)})" for r in ranges) or "false"
        return f"(isLiteral({node}) && COALESCE({tests}, false))"

    def _in(self, shape, parameter, value, node, stack=()) -> str:
        members = [f"sameTerm({node}, {term(m)})" for m in Collection(self.shapes, value)]
        return "(" + (" || ".join(members) or "false") + ")"

    def _length(self, shape, parameter, value, node, stack=()) -> str:
        operator = ">=" if parameter == SH.minLength else "<="
        return f"(!isBlank({node}) && COALESCE(STRLEN(STR({node})) {operator} {_count(value)}, false))"

    def _compare(self, shape, parameter, value, node, stack=()) -> str:
        native = f"{node} {_COMPARISONS[parameter]} {term(value)}"
        if not (isinstance(value, Literal) and value.datatype in _NUMERIC_BOUNDS):
            return f"COALESCE({native}, false)"
        # Oxigraph's decimal keeps 18 fraction digits and its integer 64 bits: a well-formed value
        # beyond that makes the comparison an error. Then compare as doubles, trusting only a
        # strict difference: rounding to double never reverses an order, but may make two values
        # equal, which is left a failure (a report to check by hand, never a silent pass).
        strict = ">" if parameter in (SH.minInclusive, SH.minExclusive) else "<"
        lexical = " || ".join(f"(sameTerm(DATATYPE({node}), <{datatype}>) && REGEX(STR({node}), \"{pattern}\"))"
                              for datatype, pattern in _LEXICAL_SPACES.items())
        beyond = f"(({lexical}) && <{XSD.double}>(STR({node})) {strict} <{XSD.double}>(\"{value}\"))"
        return f"COALESCE({native}, {beyond}, false)"

    def _node(self, shape, parameter, value, node, stack=()) -> str:
        return self.conforms(value, node, stack)

    def _members(self, value, node, stack) -> list[str]:
        return [self.conforms(m, node, stack) for m in Collection(self.shapes, value)]

    def _or(self, shape, parameter, value, node, stack=()) -> str:
        return "(" + (" || ".join(self._members(value, node, stack)) or "false") + ")"

    def _and(self, shape, parameter, value, node, stack=()) -> str:
        return "(" + (" && ".join(self._members(value, node, stack)) or "true") + ")"

    def _not(self, shape, parameter, value, node, stack=()) -> str:
        return f"!{self.conforms(value, node, stack)}"

    def _xone(self, shape, parameter, value, node, stack=()) -> str:
        members = self._members(value, node, stack)
        return "((" + " + ".join(f"IF({m}, 1, 0)" for m in members or ["false"]) + ") = 1)"


def _component(parameter: URIRef) -> URIRef:
    """The constraint component a parameter belongs to (sh:minCount -> sh:MinCountConstraintComponent)."""
    name = str(parameter).rsplit("#", 1)[-1]
    return URIRef(f"{SH}{name[0].upper()}{name[1:]}ConstraintComponent")


def _count(value) -> int:
    if not isinstance(value, Literal) or not isinstance(value.value, int) or value.value < 0:
        raise Unsupported(f"a count that is not a non-negative integer: {value}")
    return value.value


