"""The pages of the release's own descriptions: the SHACL shapes and the VoID/DCAT dataset
description, rendered by the build from their triples (``kazdata.entities.pages`` renders the
entities' and the site's)."""

from __future__ import annotations

import re

import pyoxigraph as ox

from kazdata.entities.description import RDF_TYPE, RDFS_LABEL
from kazdata.entities.graph_view import GraphView, local_name
from kazdata.entities.pages import template_environment
from kazdata.release.citation import citation_of

_templates = template_environment()

SH = "http://www.w3.org/ns/shacl#"
SPDX = "http://spdx.org/rdf/terms#"


_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


def message_parts(message: str) -> list[dict]:
    """A shape's message as text and the placeholders SHACL fills from the result
    (``{?value}``, ``{$this}``), which the page shows as variables, not as raw syntax."""
    parts: list[dict] = []
    position = 0
    for match in _PLACEHOLDER.finditer(message):
        parts.append({"text": message[position:match.start()]})
        parts.append({"variable": match.group(1)})
        position = match.end()
    return [*parts, {"text": message[position:]}]


def render_shapes_page(shape_triples: list[ox.Triple], language: str) -> str:
    """A readable summary of the SHACL shapes: each node shape, what it targets, its messages."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in shape_triples)

    def values(subject, predicate: str) -> list:
        return sorted({q.object for q in store.quads_for_pattern(subject, ox.NamedNode(SH + predicate), None, None)},
                      key=str)

    shapes = []
    # subjects are never triples: RDF 1.2 and pyoxigraph 0.5 have none, its stubs still do (RDF-star)
    node_shapes: set[ox.NamedNode | ox.BlankNode] = {
        q.subject for q in store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(SH + "NodeShape"), None)}  # type: ignore[misc]
    for shape in sorted(node_shapes, key=str):
        parts = [shape, *values(shape, "property"), *values(shape, "sparql")]
        messages = []
        for part in parts:
            severity = next(iter(values(part, "severity")), None) or next(iter(values(shape, "severity")), None)
            for message in values(part, "message"):
                messages.append({"parts": message_parts(message.value),
                                 "severity": local_name(severity.value) if severity else "Violation"})
        names = values(shape, "name") + sorted({q.object for q in store.quads_for_pattern(shape, RDFS_LABEL, None, None)}, key=str)
        shapes.append({"iri": shape.value, "name": local_name(shape.value),
                       "label": names[0].value if names else local_name(shape.value),
                       "targets": [local_name(t.value) for t in values(shape, "targetClass")],
                       "messages": messages})
    return _templates.get_template("shapes.html").render(language=language, shapes=shapes,
                                                         title="SHACL shapes", formats={})


def render_dataset_page(void_triples: list[ox.Triple], base: str, language: str) -> str:
    """The VoID/DCAT description as a page: what the dataset is, its size, dumps and sources."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in void_triples)
    view = GraphView(store, base)
    dataset = ox.NamedNode(view.vocabulary.dataset)
    void, dcat, dcterms = "http://rdfs.org/ns/void#", "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"

    def text(predicate: str) -> str:
        value = view.value(dataset, predicate)
        return value.value if value is not None else ""

    def sha256(distribution) -> str:
        checksum = view.value(distribution, SPDX + "checksum")
        value = view.value(checksum, SPDX + "checksumValue") if checksum is not None else None
        return value.value if value is not None else ""

    dumps = [{"href": view.href(d), "label": view.label(d, language), "sha256": sha256(d),
              "size": (view.value(d, dcat + "byteSize").value if view.value(d, dcat + "byteSize") else "")}
             for d in view.objects(dataset, dcat + "distribution")]
    partitions = [(local_name(view.value(p, void + "class").value), int(view.value(p, void + "entities").value))
                  for p in view.objects(dataset, void + "classPartition")]
    classes = [{"label": label, "count": count} for label, count in sorted(partitions, key=lambda c: (-c[1], c[0]))]
    graphs = [{"iri": g.value, "triples": view.value(g, void + "triples").value,
               "sources": [view.link(d, language) for d in view.objects(g, "http://www.w3.org/ns/prov#wasDerivedFrom")]}
              for g in view.objects(dataset, void + "subset")]
    rights = view.value(dataset, dcterms + "rights")
    return _templates.get_template("dataset.html").render(
        language=language, formats={}, title=text(dcterms + "title"), description=text(dcterms + "description"),
        license=text(dcterms + "license"), version=text(dcat + "version"), triples=text(void + "triples"),
        entities=text(void + "entities"), dumps=dumps, classes=classes, graphs=graphs, issued=text(dcterms + "issued"),
        rights=view.label(rights, language) if isinstance(rights, ox.NamedNode) else "",
        citation=citation_of(void_triples, dataset.value))
