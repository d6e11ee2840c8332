"""What an entity document contains: one definition, used by the build and by the tests.

A document about entity E holds (see docs/decisions/003-entity-documents.md):
1. E's own triples and their blank-node closure (a Concise Bounded Description; skolemised blank
   nodes ``.well-known/genid/`` count as blank nodes here);
2. the records about E (``record_links``: the claims and quotations that are ``schema:about`` E
   or ``kaz:saidIn`` it, the quotations E spoke, wrote or displayed, the statements E made), each
   with all its own triples: the value, qualifier, wording, counted group, text, speaker, outlet
   (``prov:wasAttributedTo``) and article, everything E's HTML page shows of them, so that the
   machine-readable document says no less than the page (issue 12);
   and the reference of each record, as Wikidata shows one under a statement: the publisher
   (``schema:publisher``) and publication date (``schema:datePublished``) of every document a
   record is derived from (``prov:wasDerivedFrom``), with the publisher's label (issue 18);
3. the labels, names, alternate names, types and addresses (``schema:url``) of every resource E
   and those records link to, so a client can show names without further requests;
4. the triples that point to E (incoming links), at most ``INCOMING_LIMIT`` of them (the first
   in N-Triples order) besides those of the records, with the labels, types and addresses of
   their subjects; the total count is stated on the document node;
5. where E is (``kazdata.entities.places.context_lines``): the ``schema:containedInPlace`` chain
   up from E and from its ``schema:location``s, and, for a place, the places inside it and what
   is located at them (at most ``places.INSIDE_LIMIT``), with their labels: the page's map and its
   "located at places inside" list (issue 18), so the document says no less than the page;
6. a few triples about the document itself: its primary topic, licence and dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox

from kazdata.entities import places
from kazdata.entities.triples import TripleIndex, split_line, token
from kazdata.vocabulary import Vocabulary, is_slug

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SCHEMA_NAME = ox.NamedNode("https://schema.org/name")
SCHEMA_URL = ox.NamedNode("https://schema.org/url")
ALTERNATE_NAME = ox.NamedNode("https://schema.org/alternateName")
FOAF_PRIMARY_TOPIC = ox.NamedNode("http://xmlns.com/foaf/0.1/primaryTopic")
FOAF_DOCUMENT = ox.NamedNode("http://xmlns.com/foaf/0.1/Document")
DCTERMS_LICENSE = ox.NamedNode("http://purl.org/dc/terms/license")
VOID_IN_DATASET = ox.NamedNode("http://rdfs.org/ns/void#inDataset")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")

#: what makes a subject a record (``records_about``)
ATTRIBUTION = frozenset([token(ox.NamedNode("http://www.w3.org/ns/prov#wasAttributedTo"))])

#: Incoming links kept in one document; the rest are counted, and reachable through SPARQL.
INCOMING_LIMIT = 200

#: what a document gives of each resource it links to: enough to name it in every language a
#: page is shown in, and, for a cited article, to find it (its schema:url, shown beside every
#: citation on the pages)
LABELS_AND_TYPES = frozenset(token(p) for p in (RDFS_LABEL, SCHEMA_NAME, ALTERNATE_NAME, RDF_TYPE, SCHEMA_URL))

#: what a document gives of each source document its records are derived from, besides its label
#: and address: who published it and when, the reference shown under each statement on the page
REFERENCE = frozenset(token(ox.NamedNode("https://schema.org/" + name)) for name in ("publisher", "datePublished"))
_DERIVED_FROM = token(ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"))

#: schema.org links from a record (claim, quotation) to the entity it is about or by
_SCHEMA_RECORD_LINKS = ("about", "spokenByCharacter", "creator")
#: kaz: links from a record to the entity it was said in, shown by, stated by, or alleges
_KAZ_RECORD_LINKS = ("saidIn", "displayedBy", "statedBy", "allegedAttacker")
_RDF_TYPE = token(RDF_TYPE)


@dataclass(frozen=True, order=True)
class EntityRef:
    """An entity IRI split into the parts of its URL: ``{base}id/{kind}/{slug}``."""

    kind: str
    slug: str

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.slug}"

    def iri(self, base: str) -> str:
        return Vocabulary(base).entity(self.path)

    def doc_iri(self, base: str) -> str:
        return Vocabulary(base).document(self.path)


def entity_ref(iri: str, base: str) -> EntityRef | None:
    """The entity an IRI names, or None if it is not an entity IRI of this dataset."""
    prefix = Vocabulary(base).entities
    if not iri.startswith(prefix):
        return None
    parts = iri[len(prefix):].split("/")
    if len(parts) != 2 or not all(is_slug(part) for part in parts):
        return None
    return EntityRef(*parts)


def list_entities(index: TripleIndex, base: str) -> list[EntityRef]:
    """Every entity IRI of this dataset that has an rdf:type, sorted."""
    prefix = f"<{Vocabulary(base).entities}".encode()
    subjects = {line[:line.index(b" ")] for line in index.by_predicate.get(_RDF_TYPE, ())}
    refs = (entity_ref(subject[1:-1].decode(), base) for subject in subjects if subject.startswith(prefix))
    return sorted((ref for ref in refs if ref is not None), key=lambda ref: (ref.kind, ref.slug))


def record_link_iris(base: str) -> tuple[str, ...]:
    """The predicates by which a record (claim, quotation) points to an entity whose document and
    page carry it whole: the event it is about, the statement it was said in, its speaker."""
    ontology = Vocabulary(base).ontology
    return (*("https://schema.org/" + name for name in _SCHEMA_RECORD_LINKS),
            *(ontology + name for name in _KAZ_RECORD_LINKS))


@cache
def record_links(base: str) -> frozenset[bytes]:
    """``record_link_iris`` as N-Triples tokens (one set per base, so the index builds its table once)."""
    return frozenset(token(ox.NamedNode(iri)) for iri in record_link_iris(base))


def records_about(index: TripleIndex, entity: bytes, base: str) -> list[bytes]:
    """Every triple of every record that points to ``entity`` by one of ``record_links``.

    A record is what an outlet reported, so it is attributed (``prov:wasAttributedTo``): that
    keeps out an article, which is ``schema:about`` every event it reports and whose whole
    description would otherwise be copied into each of their documents."""
    subjects = {line[:line.index(b" ")] for line in index.lines_by_object(record_links(base)).get(entity, ())}
    attributed = index.lines_by_subject(ATTRIBUTION)  # a table: an article has thousands of lines to scan
    records = [subject for subject in sorted(subjects) if subject in attributed]
    return [line for subject in records for line in concise_bounded_description(index, subject, base)]


def concise_bounded_description(index: TripleIndex, node: bytes, base: str) -> list[bytes]:
    """The node's triples plus, recursively, those of the blank nodes it reaches (N-Triples lines)."""
    result: list[bytes] = []
    pending, visited = [node], {node}
    genids = f"<{Vocabulary(base).genids}".encode()
    while pending:
        for line in index.by_subject.get(pending.pop(), ()):
            result.append(line)
            # the last token: the object unless it is a literal with a space, whose tail is never
            # a subject of the index, so looking it up finds nothing
            obj = line[line.rindex(b" ", 0, -3) + 1:-3]
            if obj not in visited and (obj[:2] == b"_:" or obj.startswith(genids)):
                visited.add(obj)
                pending.append(obj)
    return result


def labels_and_types(index: TripleIndex, terms, predicates=LABELS_AND_TYPES) -> list[bytes]:
    """The lines giving ``predicates`` (labels, names and types) of each term."""
    table = index.lines_by_subject(predicates)
    return [line for term in terms for line in table.get(term, ())]


def references(index: TripleIndex, records: list[bytes]) -> list[bytes]:
    """The publisher and publication date (``REFERENCE``) of each source document the
    ``records`` lines say a record is derived from (``prov:wasDerivedFrom``)."""
    sources = {split_line(line)[2] for line in records if split_line(line)[1] == _DERIVED_FROM}
    return labels_and_types(index, sorted(sources), REFERENCE)


def _line(subject: str, predicate: ox.NamedNode, obj) -> bytes:
    return f"<{subject}> {predicate} {obj} .\n".encode()


def describe(index: TripleIndex, ref: EntityRef, base: str, license_iri: str,
             dataset_iri: str) -> list[bytes]:
    """The document about ``ref`` (see the module docstring) as sorted, distinct N-Triples lines."""
    entity = f"<{ref.iri(base)}>".encode()
    context = places.context_lines(index, entity)
    own = concise_bounded_description(index, entity, base) + records_about(index, entity, base) + context
    own += references(index, own)
    linked = ({split_line(line)[2] for line in own} | {split_line(line)[0] for line in context}) - {entity}
    linked = {term for term in linked if term[:1] == b"<"}
    own_prefix = entity + b" "
    incoming_all = [line for line in index.by_object.get(entity, ()) if not line.startswith(own_prefix)]
    incoming = incoming_all[:INCOMING_LIMIT]  # the index keeps lines sorted
    sources = {split_line(line)[0] for line in incoming}
    document = ref.doc_iri(base)
    incoming_count = ox.NamedNode(Vocabulary(base).term("incomingLinkCount"))
    about_document = [
        _line(document, RDF_TYPE, FOAF_DOCUMENT),
        _line(document, FOAF_PRIMARY_TOPIC, ox.NamedNode(ref.iri(base))),
        _line(document, DCTERMS_LICENSE, ox.NamedNode(license_iri)),
        _line(document, VOID_IN_DATASET, ox.NamedNode(dataset_iri)),
        _line(document, incoming_count, ox.Literal(str(len(incoming_all)), datatype=XSD_INTEGER)),
    ]
    return sorted({*own, *labels_and_types(index, linked | sources), *incoming, *about_document})
