"""The core half of validation: pySHACL over one partition of the sources, in a worker process.

A partition's data graph holds the full description of the nodes it owns and the rdf:type of
every node they link to (enough for sh:class, which is all a value node is checked for; see
:func:`kazdata.validation.shapes.plan`). Its shapes graph is the core shapes graph with each
shape's targets replaced by ``sh:targetNode`` for the partition's own focus nodes, computed once
over the union in Oxigraph: the context nodes are never validated twice, and no target query
runs in rdflib.

pySHACL runs on a plain rdflib graph (several times faster than through an Oxigraph-backed
store); the graph is built from N-Triples parsed by pyoxigraph, which is faster than rdflib's
parser.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
import pyshacl
from rdflib import Graph
from rdflib.namespace import SH
from rdflib.term import Node

from kazdata.validation.report import Finding, term_text, to_oxigraph, to_rdflib
from kazdata.validation.shapes import path_text

_core_shapes: Graph | None = None  # set once per worker process by ``start_worker``


def start_worker(core_triples: Sequence[tuple]) -> None:
    """Pool initializer: keep the core shapes graph for every partition this process validates."""
    global _core_shapes
    _core_shapes = Graph()
    for triple in core_triples:
        _core_shapes.add(triple)


def validate_in_worker(task: tuple[int, bytes, list[tuple[Node, list]]]) -> tuple[int, list[Finding]]:
    index, data, targets = task
    assert _core_shapes is not None, "start_worker was not run"
    return index, validate_partition(_core_shapes, data, targets)


def data_graph(ntriples: bytes) -> Graph:
    """An rdflib graph of N-Triples, parsed by pyoxigraph (blank node labels are kept)."""
    graph = Graph()
    iris: dict[str, object] = {}

    def term(node):
        if isinstance(node, ox.NamedNode):
            found = iris.get(node.value)
            if found is None:
                found = iris[node.value] = to_rdflib(node)
            return found
        return to_rdflib(node)

    add = graph.store.add
    for quad in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES):
        add((term(quad.subject), term(quad.predicate), term(quad.object)), graph, quoted=False)
    return graph


def validate_partition(core_shapes: Graph, data: bytes, targets: list[tuple[Node, list]]) -> list[Finding]:
    """pySHACL's top-level results for the given focus nodes of each shape, over ``data``."""
    if not any(nodes for _shape, nodes in targets):
        return []
    shapes = Graph()
    shapes += core_shapes
    for shape, nodes in targets:
        for node in nodes:
            shapes.add((shape, SH.targetNode, to_rdflib(node)))
    _conforms, results, _text = pyshacl.validate(
        data_graph(data), shacl_graph=shapes, inference="none",
        advanced=True, allow_warnings=True, meta_shacl=False)
    findings = []
    # top-level results only: those nested under sh:detail repeat a failed sh:node check
    for result in results.objects(None, SH.result):
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        severity = results.value(result, SH.resultSeverity)
        findings.append(Finding(
            focus=to_oxigraph(results.value(result, SH.focusNode)),
            path=path_text(results, results.value(result, SH.resultPath)),
            value=term_text(results.value(result, SH.value)),
            message="; ".join(messages) or "(the shape gives no message)",
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            source_shape=str(results.value(result, SH.sourceShape)),
            constraint=str(results.value(result, SH.sourceConstraintComponent))))
    return findings
