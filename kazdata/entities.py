"""What an entity document contains: one definition, used by the build and by the tests.

A document about entity E holds (see docs/decisions/003-entity-documents.md):
1. E's own triples and their blank-node closure (a Concise Bounded Description; skolemised blank
   nodes ``.well-known/genid/`` count as blank nodes here);
2. the labels and types of every resource E links to, so a client can show names without
   further requests;
3. the triples that point to E (incoming links), at most ``INCOMING_LIMIT`` of them, with the
   labels and types of their subjects; the total count is stated on the document node;
4. a few triples about the document itself: its primary topic, licence and dataset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SCHEMA_NAME = ox.NamedNode("https://schema.org/name")
FOAF_PRIMARY_TOPIC = ox.NamedNode("http://xmlns.com/foaf/0.1/primaryTopic")
FOAF_DOCUMENT = ox.NamedNode("http://xmlns.com/foaf/0.1/Document")
DCTERMS_LICENSE = ox.NamedNode("http://purl.org/dc/terms/license")
VOID_IN_DATASET = ox.NamedNode("http://rdfs.org/ns/void#inDataset")
INCOMING_COUNT = ox.NamedNode("https://w3id.org/kazdata/ontology#incomingLinkCount")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")

#: Incoming links kept in one document; the rest are counted, and reachable through SPARQL.
INCOMING_LIMIT = 200

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LABEL_PREDICATES = (RDFS_LABEL, SCHEMA_NAME, RDF_TYPE)


@dataclass(frozen=True, order=True)
class EntityRef:
    """An entity IRI split into the parts of its URL: ``{base}id/{kind}/{slug}``."""

    kind: str
    slug: str

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.slug}"

    def iri(self, base: str) -> str:
        return f"{base}id/{self.path}"

    def doc_iri(self, base: str) -> str:
        return f"{base}doc/{self.path}"


def entity_ref(iri: str, base: str) -> EntityRef | None:
    """The entity an IRI names, or None if it is not an entity IRI of this dataset."""
    prefix = f"{base}id/"
    if not iri.startswith(prefix):
        return None
    parts = iri[len(prefix):].split("/")
    if len(parts) != 2 or not all(_SLUG.match(part) for part in parts):
        return None
    return EntityRef(*parts)


def _triples(store: ox.Store, subject=None, predicate=None, obj=None) -> Iterator[ox.Triple]:
    """Triples of the union of all graphs, each once."""
    seen: set[ox.Triple] = set()
    for quad in store.quads_for_pattern(subject, predicate, obj, None):
        triple = quad.triple
        if triple not in seen:
            seen.add(triple)
            yield triple


def list_entities(store: ox.Store, base: str) -> list[EntityRef]:
    """Every entity IRI of this dataset that has an rdf:type, sorted."""
    refs = {entity_ref(q.subject.value, base) for q in store.quads_for_pattern(None, RDF_TYPE, None, None)
            if isinstance(q.subject, ox.NamedNode)}
    return sorted(ref for ref in refs if ref is not None)


def _is_blank_like(term, base: str) -> bool:
    return isinstance(term, ox.BlankNode) or (
        isinstance(term, ox.NamedNode) and term.value.startswith(f"{base}.well-known/genid/"))


def concise_bounded_description(store: ox.Store, node: ox.NamedNode, base: str) -> list[ox.Triple]:
    """The node's triples plus, recursively, those of the blank nodes it reaches."""
    result: list[ox.Triple] = []
    pending, visited = [node], {node}
    while pending:
        for triple in _triples(store, pending.pop()):
            result.append(triple)
            if _is_blank_like(triple.object, base) and triple.object not in visited:
                visited.add(triple.object)
                pending.append(triple.object)
    return result


def _labels_and_types(store: ox.Store, terms) -> list[ox.Triple]:
    out: list[ox.Triple] = []
    for term in terms:
        for predicate in _LABEL_PREDICATES:
            out.extend(_triples(store, term, predicate, None))
    return out


def describe(store: ox.Store, ref: EntityRef, base: str, license_iri: str,
             dataset_iri: str) -> list[ox.Triple]:
    """All triples of the document about ``ref`` (see the module docstring)."""
    entity = ox.NamedNode(ref.iri(base))
    own = concise_bounded_description(store, entity, base)
    linked = {t.object for t in own if isinstance(t.object, ox.NamedNode)} - {entity}
    incoming_all = [t for t in _triples(store, None, None, entity) if t.subject != entity]
    incoming = sorted(incoming_all, key=str)[:INCOMING_LIMIT]
    sources = {t.subject for t in incoming}
    document = ox.NamedNode(ref.doc_iri(base))
    about_document = [
        ox.Triple(document, RDF_TYPE, FOAF_DOCUMENT),
        ox.Triple(document, FOAF_PRIMARY_TOPIC, entity),
        ox.Triple(document, DCTERMS_LICENSE, ox.NamedNode(license_iri)),
        ox.Triple(document, VOID_IN_DATASET, ox.NamedNode(dataset_iri)),
        ox.Triple(document, INCOMING_COUNT, ox.Literal(str(len(incoming_all)), datatype=XSD_INTEGER)),
    ]
    return own + _labels_and_types(store, linked | sources) + incoming + about_document
