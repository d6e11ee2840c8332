"""The core constraints that compare a focus node's values with another property's (sh:equals,
sh:disjoint, sh:lessThan, sh:lessThanOrEquals) and sh:closed, as SPARQL over all focus nodes.

Split from :mod:`kazdata.validation.compiler` (which calls :func:`checks`), whose constraints are
each one test on one value node; these read two sets of values, or every predicate of the node.
Semantics: https://www.w3.org/TR/shacl/#core-components-property-pairs and #ClosedConstraintComponent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD

PAIRS = frozenset({SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals})
_ORDER = {SH.lessThan: "<", SH.lessThanOrEquals: "<="}


def _values(path: str | None) -> str:
    """A pattern binding ?value to the value nodes: the path's objects, or the focus node itself."""
    return f"?this {path} ?value ." if path else "BIND (?this AS ?value)"


def checks(shapes: Graph, shape, parameter, value, path: str | None, focus: str,
           make: Callable[..., object], unsupported: type[Exception]) -> Iterator:
    """CoreChecks (built by ``make(component, query, dynamic_path)``) for one pair or closed parameter."""
    if parameter in PAIRS:
        if not isinstance(value, URIRef):
            raise unsupported(f"{shape}: {parameter} {value}")
        other = f"<{value}>"
        name = str(parameter).rsplit("#", 1)[-1]
        component = URIRef(f"{SH}{name[0].upper()}{name[1:]}ConstraintComponent")
        if parameter == SH.equals:
            among_values = f"EXISTS {{ ?this {path} ?value }}" if path else "sameTerm(?this, ?value)"
            # the focus pattern in each branch: a group is evaluated before it is joined with what precedes it
            yield make(component, f"SELECT DISTINCT ?key ?this ?value WHERE {{ {{ {focus} {_values(path)} "
                       f"FILTER NOT EXISTS {{ ?this {other} ?value }} }} UNION {{ {focus} ?this {other} ?value "
                       f"FILTER (!{among_values}) }} }}")
        elif parameter == SH.disjoint:
            yield make(component, f"SELECT DISTINCT ?key ?this ?value WHERE {{ {focus} {_values(path)} "
                       f"?this {other} ?value }}")
        else:
            if path is None:
                raise unsupported(f"{shape}: {parameter} on a node shape")
            yield make(component, f"SELECT DISTINCT ?key ?this ?value WHERE {{ {focus} ?this {path} ?value . "
                       f"?this {other} ?other FILTER (!COALESCE(?value {_ORDER[parameter]} ?other, false)) }}")
    elif parameter == SH.closed:
        if not (isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"):
            return
        if path is not None:
            raise unsupported(f"{shape}: sh:closed on a property shape")
        allowed = {p for prop in shapes.objects(shape, SH.property)
                   for p in shapes.objects(prop, SH.path) if isinstance(p, URIRef)}
        for ignored in shapes.objects(shape, SH.ignoredProperties):
            allowed.update(p for p in Collection(shapes, ignored) if isinstance(p, URIRef))
        listed = ", ".join(f"<{p}>" for p in sorted(allowed))
        keep = f"FILTER (?path NOT IN ({listed}))" if listed else ""
        yield make(URIRef(f"{SH}ClosedConstraintComponent"),
                   f"SELECT ?key ?this ?path ?value WHERE {{ {focus} ?this ?path ?value {keep} }}", True)
    elif parameter == SH.ignoredProperties:
        return


HANDLED = PAIRS | {SH.closed, SH.ignoredProperties}
