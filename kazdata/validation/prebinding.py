"""What SHACL's pre-binding of ``$this`` allows a SPARQL query of the shapes graph, and whether it
can run once over the whole graph instead of once per focus node.

SHACL (https://www.w3.org/TR/shacl/#pre-binding) evaluates a constraint's query with ``$this``
(and ``$currentShape``, ``$shapesGraph``, a component's parameters, ``$value``) already bound,
and forbids what would make that ill-defined: MINUS, VALUES, a federated SERVICE, ``AS ?var``
for a pre-bound variable, a subquery that does not return ``$this``. :func:`check` enforces
this on the query's algebra (rdflib's SPARQL parser), so a processor never runs a query SHACL
says it must refuse; SERVICE is refused for a second reason: validation never fetches a URL.

Running a query once with ``$this`` free and keeping the rows whose ``?this`` is a focus node is
what pre-binding gives only when every solution of the query body binds ``?this`` *from the
data*, in a triple pattern of the main group (not only in a FILTER, a BIND, one branch of a
UNION, an OPTIONAL or a subquery, and not through a path that may have length zero).
:func:`whole_graph_equivalent` proves that, query by query; where it cannot, the caller binds
``$this`` to each focus node in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, OneOrMore, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

THIS = Variable("this")
PRE_BOUND = frozenset({THIS, Variable("shapesGraph"), Variable("currentShape")})
_FORBIDDEN = {"Minus": "MINUS", "ServiceGraphPattern": "SERVICE (validation never queries another endpoint)",
              "values": "VALUES"}


class QueryRefused(ValueError):
    """A shapes query SHACL says a processor must refuse (or that this one will not run)."""


def algebra(query: str, prefixes: dict[str, str] | None = None) -> CompValue:
    """The SPARQL algebra of ``query``; QueryRefused if rdflib cannot parse it."""
    try:
        return prepareQuery(query, initNs=prefixes or {}).algebra
    except Exception as error:  # noqa: BLE001 - pyparsing and rdflib raise many kinds; all mean "cannot read it"
        raise QueryRefused(f"its SPARQL query does not parse: {str(error).splitlines()[0][:200]}") from None


def _nodes(node) -> Iterator[CompValue]:
    if isinstance(node, CompValue):
        yield node
        for key, value in node.items():
            if key != "_vars":
                yield from _nodes(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _nodes(item)


def _mentions(node, variable: Variable) -> bool:
    if isinstance(node, Variable):
        return node == variable
    if isinstance(node, CompValue):
        return any(_mentions(v, variable) for k, v in node.items() if k != "_vars")
    if isinstance(node, (list, tuple)):
        return any(_mentions(item, variable) for item in node)
    return False


def check(query: str, prefixes: dict[str, str] | None = None, pre_bound: frozenset = PRE_BOUND) -> CompValue:
    """Refuse (QueryRefused, saying why) a query SHACL forbids; return its algebra otherwise.

    With no pre-bound variable (a SPARQL target) only SERVICE is refused.
    """
    tree = algebra(query, prefixes)
    star = re.search(r"\bSELECT\s+(DISTINCT\s+|REDUCED\s+)?\*", query[query.upper().find("SELECT") + 6:], re.I)
    for node in _nodes(tree):
        if node.name in _FORBIDDEN and (pre_bound or node.name == "ServiceGraphPattern"):
            raise QueryRefused(f"its SPARQL query uses {_FORBIDDEN[node.name]}, which SHACL forbids "
                               "in a query with pre-bound variables")
        internal = isinstance(node.get("expr"), Variable) and str(node.expr).startswith("__agg_")
        if node.name == "Extend" and node.var in pre_bound and not internal:  # not GROUP BY's own copy
            raise QueryRefused(f"its SPARQL query assigns the pre-bound variable ?{node.var} (BIND ... AS ?{node.var})")
        if pre_bound and node.name == "ToMultiSet" and isinstance(node.p, CompValue) and node.p.name in ("Project", "Distinct",
                                                                                         "Reduced", "Slice"):
            if _mentions(tree, THIS) and not _returns_this(node.p, star):
                raise QueryRefused("its SPARQL query has a subquery that does not return $this")
    return tree


def _returns_this(subquery: CompValue, star: object) -> bool:
    """Whether a subquery projects $this: by name, or by SELECT * with ?this in scope (rdflib's
    algebra counts a variable read only by a FILTER as projected by *, SPARQL does not)."""
    project = next((n for n in _nodes(subquery) if n.name == "Project"), None)
    return project is not None and THIS in project.PV and (not star or _possibly_bound(project.p))


def _possibly_bound(node) -> bool:
    """Whether some pattern (not a FILTER alone) of ``node`` can bind ?this."""
    for inner in _nodes(node):
        if inner.name == "BGP" and any(THIS in triple for triple in inner.triples):
            return True
        if inner.name == "Extend" and inner.var == THIS:
            return True
    return False


def _certain(node) -> bool:
    """Whether every solution of ``node`` binds ?this from a triple of the data."""
    if not isinstance(node, CompValue):
        return False
    name = node.name
    if name == "BGP":
        return any(_plain(triple) for triple in node.triples)
    if name == "Join":
        return _certain(node.p1) or _certain(node.p2)
    if name == "Union":
        return _certain(node.p1) and _certain(node.p2)
    if name in ("LeftJoin",):
        return _certain(node.p1)
    if name == "Group":  # aggregates per ?this: pre-binding keeps exactly that group
        return THIS in (node.expr or ()) and _certain(node.p)
    if name in ("Filter", "Extend", "Project", "Distinct", "Reduced", "OrderBy", "Graph", "SelectQuery",
                "ToMultiSet", "AggregateJoin"):
        return _certain(node.p)
    return False  # a LIMIT/OFFSET inside, VALUES: not proved


def _plain(triple) -> bool:
    """A triple pattern with ?this as subject or object and a plain IRI or variable as predicate."""
    subject, predicate, obj = triple
    return THIS in (subject, obj) and _never_empty(predicate)


def _never_empty(path) -> bool:
    """Whether a predicate or property path always spans at least one triple (so it binds its ends
    from the data; a path of length zero would bind ?this to any node)."""
    if isinstance(path, (URIRef, Variable)):
        return True
    if isinstance(path, MulPath):
        return path.mod == OneOrMore and _never_empty(path.path)
    if isinstance(path, SequencePath):
        return any(_never_empty(p) for p in path.args)
    if isinstance(path, AlternativePath):
        return all(_never_empty(p) for p in path.args)
    if isinstance(path, InvPath):
        return _never_empty(path.arg)
    return isinstance(path, NegatedPath)


def whole_graph_equivalent(tree: CompValue) -> bool:
    """Whether running the query once, ?this free, gives each focus node's pre-bound solutions.

    A top-level LIMIT/OFFSET is applied per focus node by the caller; anything else that depends
    on the set of solutions as a whole (a subquery or an aggregate mentioning ?this) is not proved.
    """
    body = tree.p
    if isinstance(body, CompValue) and body.name == "Slice":
        body = body.p
    for node in _nodes(body):
        if node.name in ("ToMultiSet", "Group") and _mentions(node, THIS) and not _certain(node):
            return False
        # an expression or OPTIONAL reading ?this must be evaluated where ?this is already bound
        if node.name in ("Filter", "Extend") and _mentions(node.expr, THIS) and not _certain(node.p):
            return False
        if node.name == "LeftJoin" and (_mentions(node.expr, THIS) or _mentions(node.p2, THIS)) \
                and not _certain(node.p1):
            return False
    return _certain(body)


# strings, IRIs and comments are copied as they are; a variable token is what is replaced
_TOKENS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>'
                     r"|#[^\n]*|(?P<bound>\bBOUND\s*\(\s*[?$]this\s*\))|(?P<select>\bSELECT\b)|(?P<where>\bWHERE\b|[{}]|\bHAVING\b|\bLIMIT\b|\bOFFSET\b)"
                     r"|(?P<by>\b(?:GROUP|ORDER)\s+BY\b)"
                     r"|(?P<open>\()|(?P<close>\))|(?P<var>[?$]this\b)", re.IGNORECASE)


def bind_this(query: str, value: str) -> str:
    """``query`` with $this replaced by ``value`` (a term in SPARQL syntax), as pre-binding defines.

    In the main projection ``$this`` becomes ``(value AS ?this)``, so that the solutions still
    carry it, and in a subquery's a fresh variable (the subquery returns it, as SHACL requires, but
    need not rebind ?this); in GROUP BY and ORDER BY ``(value)``; ``BOUND($this)`` becomes true. (Oxigraph's own substitution leaves
    BOUND and BIND unbound.)
    """
    out, last, in_projection, in_by, depth, selects = [], 0, False, False, 0, 0
    for match in _TOKENS.finditer(query):
        kind = match.lastgroup
        if kind is None:
            continue
        replacement = None
        if kind == "bound":
            replacement = "(true)"
        elif kind == "select":
            in_projection, depth, selects = True, 0, selects + 1
        elif kind == "where":
            in_projection = in_by = False
        elif kind == "by":
            in_by, depth = True, 0
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "var":
            name = "?this" if selects == 1 else f"?kazdata_this_{selects}"
            replacement = f"({value} AS {name})" if in_projection and depth == 0 else value
            if in_by and depth == 0:
                replacement = f"({value})"  # GROUP BY / ORDER BY take a variable or a bracketed expression
        if replacement is not None:
            out.append(query[last:match.start()] + replacement)
            last = match.end()
    return "".join(out) + query[last:]
