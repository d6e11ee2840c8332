"""The whole-graph half of validation, in Oxigraph: targets and SPARQL-based constraints.

Each sh:sparql constraint runs *once* as a SELECT over the union of every source and the
ontology, with ``$this`` left a variable, instead of once per focus node: pySHACL re-parses and
runs the query for every focus node, which took minutes at 10^5 triples. The solutions are then
kept for the shape's focus nodes only, which is what pre-binding ``$this`` to each focus node
would give for queries that bind ``$this`` in their pattern, as SHACL requires (subqueries must
project it). A top-level LIMIT or OFFSET limits the solutions *per focus node*, as it would
under pre-binding.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib.namespace import RDF, RDFS, SH

from kazdata.errors import SourceError
from kazdata.validation import prebinding
from kazdata.validation.report import Finding, term_text, to_rdflib
from kazdata.validation.shapes import ShapesPlan, SparqlConstraint, target_classes

SOURCE_GRAPH = "urn:kazdata:validation:source:{:06d}"
ONTOLOGY_GRAPH = ox.NamedNode("urn:kazdata:validation:ontology")
_SPARQL_CONSTRAINT = str(SH.SPARQLConstraintComponent)
_TAIL = re.compile(r"\b(LIMIT|OFFSET)\s+(\d+)", re.IGNORECASE)


def source_graph(index: int) -> ox.NamedNode:
    return ox.NamedNode(SOURCE_GRAPH.format(index))


def source_index(graph: ox.NamedNode) -> int | None:
    value = graph.value
    prefix = SOURCE_GRAPH.split("{")[0]
    return int(value[len(prefix):]) if value.startswith(prefix) else None


def load_union(paths: Sequence[Path], ontology: Path) -> ox.Store:
    """One named graph per source (and one for the ontology); blank nodes stay distinct per file.

    Raises SourceError naming the file, line and column of a syntax error.
    """
    store = ox.Store()
    for index, path in enumerate([*paths, ontology]):
        graph = source_graph(index) if index < len(paths) else ONTOLOGY_GRAPH
        try:
            store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=graph,
                       base_iri=Path(path).resolve().as_uri())  # as rdflib resolves relative IRIs
        except SyntaxError as error:
            raise SourceError(f"{path}: {error}", file=str(path)) from None
        except OSError as error:
            raise SourceError(f"{path}: cannot read: {error.strerror or error}", file=str(path)) from None
    return store


def select(store: ox.Store, query: str, prefixes: dict[str, str] | None = None) -> ox.QuerySolutions:
    """The rows of a SELECT query over the union."""
    solutions = store.query(query, prefixes=prefixes or None, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions), "not a SELECT query"
    return solutions


def construct(store: ox.Store, query: str) -> bytes:
    """The N-Triples of a CONSTRUCT query over the union."""
    triples = store.query(query, use_default_graph_as_union=True)
    assert isinstance(triples, ox.QueryTriples), "not a CONSTRUCT query"
    data = triples.serialize(format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # given no output, serialize returns the bytes
    return data


def subclass_closure(store: ox.Store) -> Callable[[object], list[str] | None]:
    """A function giving a class and every class below it by rdfs:subClassOf* in the union.

    The rdfs:subClassOf triples are read once; a class target or sh:class then matches
    ``?node a ?type`` against a fixed list of IRIs instead of following a property path per node.
    A SPARQL query cannot name a stored blank node, so for a class with a blank node anywhere
    below it (``[ rdfs:subClassOf C ]`` as a type, or a chain through one) the function returns
    None, and the caller follows the path instead (:func:`instance_pattern`).
    """
    below: dict[str, set[str]] = {}
    for quad in store.quads_for_pattern(None, ox.NamedNode(str(RDFS.subClassOf)), None, None):
        below.setdefault(_class_key(quad.object), set()).add(_class_key(quad.subject))
    cache: dict[str, list[str] | None] = {}

    def subclasses(cls) -> list[str] | None:
        if str(cls) not in cache:
            found, stack = {str(cls)}, [str(cls)]
            while stack:
                for sub in below.get(stack.pop(), ()):
                    if sub not in found:
                        found.add(sub)
                        stack.append(sub)
            cache[str(cls)] = None if any(c.startswith("_:") for c in found) else sorted(found)
        return cache[str(cls)]
    return subclasses


def _class_key(term) -> str:
    """IRIs as themselves, blank nodes as ``_:id`` (never an IRI), literals as never-matching keys."""
    if isinstance(term, ox.NamedNode):
        return term.value
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else f"_:literal {term}"


def instance_pattern(node: str, classes, subclasses: Callable[[object], list[str] | None]) -> list[str]:
    """Group patterns, one per alternative, binding ``node`` to the SHACL instances of any of
    ``classes``: one VALUES list of every IRI class below them, and a property path for each class
    whose subclasses pass through a blank node (see :func:`subclass_closure`)."""
    iris: set[str] = set()
    patterns = []
    for cls in sorted(classes, key=str):
        below = subclasses(cls)
        if below is None:
            patterns.append(f"{node} <{RDF.type}>/<{RDFS.subClassOf}>* <{cls}>")
        else:
            iris.update(below)
    if iris:
        patterns.insert(0, f"{node} a ?type VALUES ?type {{ " + " ".join(f"<{c}>" for c in sorted(iris)) + " }")
    return patterns


class FocusNodes(Mapping):
    """Each targeted shape's focus nodes over the union, as Oxigraph terms, computed when first asked.

    Only the shapes that need them in Python ask (those with sh:sparql constraints, and those
    pySHACL validates); the compiled core constraints read their targets inside their own queries.
    Shapes often share a target (CuratedResources), so each target query runs once.
    """

    def __init__(self, store: ox.Store, plan: ShapesPlan) -> None:
        self.store = store
        self.plan = plan
        self._answers: dict[str, set] = {}
        self._nodes: dict[object, set] = {}
        self.subclasses = subclass_closure(store)

    def answer(self, query: str) -> set:
        """The ?this of one target query."""
        if query not in self._answers:
            self._answers[query] = {row["this"] for row in select(self.store, query) if row["this"] is not None}
        return self._answers[query]

    def __getitem__(self, shape) -> set:
        if shape not in self._nodes:
            if shape not in self.plan.targets:
                raise KeyError(shape)
            queries = list(self.plan.targets[shape])
            for pattern in instance_pattern("?this", target_classes(self.plan.shapes, shape), self.subclasses):
                queries.append(f"SELECT DISTINCT ?this WHERE {{ {pattern} }}")  # SHACL instances
            self._nodes[shape] = set().union(*(self.answer(q) for q in queries))
        return self._nodes[shape]

    def __iter__(self) -> Iterator:
        return iter(self.plan.targets)

    def __len__(self) -> int:
        return len(self.plan.targets)


def focus_nodes(store: ox.Store, plan: ShapesPlan) -> FocusNodes:
    """Every targeted shape's focus nodes (see FocusNodes: computed on first use)."""
    return FocusNodes(store, plan)


def owners(store: ox.Store) -> dict:
    """For each subject described in more than one file, the first of those files (its owner)."""
    rows = select(store, f"""
        SELECT ?s (MIN(STR(?g)) AS ?first) WHERE {{
            GRAPH ?g {{ ?s ?p ?o }} FILTER (STRSTARTS(STR(?g), "{SOURCE_GRAPH.split('{')[0]}"))
        }} GROUP BY ?s HAVING (COUNT(DISTINCT ?g) > 1)""")
    return {row["s"]: source_index(ox.NamedNode(row["first"].value)) for row in rows}


def home(store: ox.Store, node, shared: dict) -> int:
    """The partition (source index) that validates ``node``: the first file describing it, else 0."""
    if node in shared:
        return shared[node]
    for quad in store.quads_for_pattern(node, None, None, None):
        index = source_index(quad.graph_name) if isinstance(quad.graph_name, ox.NamedNode) else None
        if index is not None:
            return index
    return 0


def describing_sources(store: ox.Store, node) -> list[int]:
    """The indexes of the source files in which ``node`` is a subject, in order."""
    if isinstance(node, ox.Literal):
        return []
    found = {source_index(q.graph_name) for q in store.quads_for_pattern(node, None, None, None)
             if isinstance(q.graph_name, ox.NamedNode)}
    return sorted(i for i in found if i is not None)


def _per_focus_limits(query: str) -> tuple[str, int | None, int]:
    """Remove a top-level LIMIT/OFFSET (after the last '}') and return them to apply per focus node."""
    end = query.rfind("}")
    tail = query[end + 1:]
    limit, offset = None, 0
    for keyword, number in _TAIL.findall(tail):
        if keyword.upper() == "LIMIT":
            limit = int(number)
        else:
            offset = int(number)
    return query[:end + 1] + _TAIL.sub("", tail), limit, offset


def _format(message: str, bindings: dict[str, object]) -> str:
    for name, value in bindings.items():
        message = re.sub(r"\{[?$]" + re.escape(name) + r"\}", functools.partial(_term_string, value), message)
    return message


def _term_string(value: object, _match: re.Match) -> str:
    return str(to_rdflib(value))


def _rows(store: ox.Store, query: str, constraint: SparqlConstraint, this=None) -> Iterator[dict[str, object]]:
    """The solutions of ``query`` as dictionaries, with $this bound to ``this`` if given: written
    into the query (prebinding.bind_this), or for a blank node (which a query cannot name) by
    Oxigraph's substitution."""
    substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] | None = None
    if isinstance(this, ox.BlankNode):
        substitutions = {ox.Variable("this"): this}
    elif this is not None:
        query = prebinding.bind_this(query, str(this))
    solutions = store.query(query, prefixes=constraint.prefixes or None, use_default_graph_as_union=True,
                            substitutions=substitutions)
    assert isinstance(solutions, ox.QuerySolutions), "not a SELECT query"
    names = [variable.value for variable in solutions.variables]
    for row in solutions:
        bindings = {name: row[name] for name in names if row[name] is not None}
        if this is not None:
            bindings["this"] = this
        yield bindings


def run_constraint(store: ox.Store, constraint: SparqlConstraint, focus: set) -> list[Finding]:
    """Run one sh:sparql constraint over the union and report what pySHACL would for ``focus``."""
    query = constraint.select
    if "$shapesGraph" in query:
        raise ValueError(f"{constraint.shape}: $shapesGraph is not supported")
    query = query.replace("$currentShape", f"<{constraint.shape}>")
    if "$PATH" in query:
        if constraint.shape_path is None:
            raise ValueError(f"{constraint.shape}: $PATH in the query of a shape without sh:path")
        query = query.replace("$PATH", constraint.shape_path)
    if not focus:  # no focus node, no result: not run (on clean data the dangling-link rule has none)
        return []
    if not constraint.whole_graph:  # pre-bind $this to each focus node (SHACL's own definition)
        rows: Iterable = (row for node in sorted(focus, key=str) for row in _rows(store, query, constraint, node))
        limit, offset = None, 0
    else:
        query, limit, offset = _per_focus_limits(query)
        rows = _rows(store, query, constraint)
    seen_per_focus: dict[object, int] = defaultdict(int)
    seen: set = set()
    findings = []
    for bindings in rows:
        this = bindings.get("this")
        if this is None:
            raise ValueError(f"{constraint.shape}: its sh:sparql query must bind $this in every solution")
        if this not in focus:
            continue
        key = tuple(sorted((k, str(v)) for k, v in bindings.items()))
        if key in seen:
            continue
        seen.add(key)
        seen_per_focus[this] += 1
        rank = seen_per_focus[this]
        if rank <= offset or (limit is not None and rank > limit + offset):
            continue
        if bindings.get("failure") is not None:
            raise ValueError(f"{constraint.shape}: ?failure is not supported")
        value = bindings.get("value", None if constraint.is_property_shape else this)
        path = bindings.get("path")
        format_with = {k: v for k, v in bindings.items() if k not in ("value",)}
        if value is not None:
            format_with["value"] = value
        messages = sorted({_format(m, format_with) for m in constraint.messages})
        findings.append(Finding(
            focus=this,
            path=term_text(path) if path is not None else constraint.shown_path,
            value=term_text(value),
            message="; ".join(messages) or "(the shape gives no message)",
            severity=constraint.severity,
            source_shape=str(constraint.shape),
            constraint=_SPARQL_CONSTRAINT))
    return findings


def run_constraints(store: ox.Store, plan: ShapesPlan, focus: Mapping[object, set]) -> list[Finding]:
    findings = []
    for constraint in plan.sparql_constraints:
        nodes = set().union(*(focus[shape] for shape in plan.focus_shapes(constraint.shape)))
        findings.extend(run_constraint(store, constraint, nodes))
    return findings


def partition_data(store: ox.Store, indexes: Iterable[int], shared: dict) -> bytes:
    """N-Triples of what pySHACL needs to validate the nodes owned by the given sources.

    That is: the sources' own triples; what other sources say about the subjects these sources
    own (a node described in two files is validated, whole, in the first); the rdf:type of every
    node they link to, whichever file gives it; every rdfs:subClassOf; and the ontology.
    """
    indexes = list(indexes)
    graphs = " ".join(f"<{source_graph(i).value}>" for i in indexes)
    owned_elsewhere = [s for s, owner in shared.items() if owner in indexes]
    values = " ".join(_sparql_term(s) for s in owned_elsewhere)
    query = f"""
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{
            {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }}
            UNION {{ VALUES ?s {{ {values} }} ?s ?p ?o }}
            UNION {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?x ?y ?s }} ?s a ?o BIND (<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> AS ?p) }}
            UNION {{ VALUES ?x {{ {values} }} ?x ?y ?s . ?s a ?o BIND (<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> AS ?p) }}
            UNION {{ ?s <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?o BIND (<http://www.w3.org/2000/01/rdf-schema#subClassOf> AS ?p) }}
            UNION {{ GRAPH <{ONTOLOGY_GRAPH.value}> {{ ?s ?p ?o }} }}
        }}"""
    return construct(store, query)


def whole_data(store: ox.Store) -> bytes:
    """N-Triples of the whole union (the fallback partition when value shapes need more than types)."""
    return construct(store, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")


def _sparql_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        raise TypeError("blank nodes cannot be written in a VALUES block")
    return str(term)
