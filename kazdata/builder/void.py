"""The VoID + DCAT description of a release: the curated metadata in ``data/dataset.ttl`` plus
what the build measures (triples, classes, properties, subsets per source, dumps), counted on the
N-Triples and N-Quads lines the dumps are written from, and what makes it citable and checkable:
its version and issue date (``kazdata.builder.release_info``), a citation generated from them
(``kazdata.release.citation``), and the size and SHA-256 of every distribution, gzip copies
included (DCAT 3's ``dcat:byteSize`` and ``spdx:checksum``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyoxigraph as ox

from kazdata.builder.context import BuildContext
from kazdata.builder.dumps import Dump, write_bytes, write_graph
from kazdata.builder.release_info import (
    DCAT_VERSION,
    ISSUED,
    VERSION_INFO,
    ReleaseInfo,
    release_version,
    versioned_iri,
)
from kazdata.entities.description import RDF_TYPE, EntityRef
from kazdata.entities.description_pages import render_dataset_page
from kazdata.entities.triples import TripleIndex, resource, split_line
from kazdata.formats import GZIP
from kazdata.release.citation import citation_of
from kazdata.release.datacite import DATACITE, datacite_json
from kazdata.sources import bundled
from kazdata.sources.curated import load_source
from kazdata.vocabulary import LICENSE, PREFIXES, Vocabulary

VOID, DCAT, DCTERMS, PROV, XSD, RDFS = (PREFIXES[name] for name in ("void", "dcat", "dcterms", "prov", "xsd", "rdfs"))
IANA = "https://www.iana.org/assignments/media-types/"
SPDX = "http://spdx.org/rdf/terms#"
#: what the build states itself, in place of whatever ``data/dataset.ttl`` says
RELEASE_PREDICATES = (VERSION_INFO, DCAT_VERSION, ISSUED)


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD + "integer"))


@dataclass(frozen=True)
class GraphSummary:
    """What VoID says about one named graph: its size and the documents it was derived from."""

    iri: str
    triples: int
    derived_from: tuple[str, ...]


def summarise_graphs(quad_lines: list[bytes]) -> list[GraphSummary]:
    """One summary per named graph of sorted, distinct N-Quads lines, sorted by graph IRI."""
    counts: Counter = Counter()
    derived: dict[bytes, set[bytes]] = {}
    predicate = f"<{PROV}wasDerivedFrom>".encode()
    for line in quad_lines:
        rest, graph = line[:-3].rsplit(b" <", 1)
        counts[graph] += 1
        _subject, line_predicate, obj = rest.split(b" ", 2)
        if line_predicate == predicate and obj[:1] == b"<":
            derived.setdefault(graph, set()).add(obj[1:-1])
    return [GraphSummary(graph[:-1].decode(), count,
                         tuple(sorted(d.decode() for d in derived.get(graph, ()))))
            for graph, count in sorted(counts.items())]


def describe_dataset(index: TripleIndex, graphs: list[GraphSummary], entities: list[EntityRef],
                     vocabulary: Vocabulary, dumps: list[Dump], info: ReleaseInfo,
                     version: str) -> list[ox.Triple]:
    """The VoID/DCAT triples of the release (see the module docstring); ``version`` is
    ``info.version`` or, when that is None, the content address."""
    base = vocabulary.base
    dataset = _n(vocabulary.dataset)
    triples = [t for t in load_source(bundled.bundled_dir("data") / "dataset.ttl", base).triples
               if not (t.subject == dataset and t.predicate.value in RELEASE_PREDICATES)]
    type_token = f"<{RDF_TYPE.value}>".encode()
    classes = Counter(resource(split_line(line)[2]) for line in index.by_predicate.get(type_token, ()))
    properties = {resource(predicate): len(lines) for predicate, lines in index.by_predicate.items()}

    def add(subject, predicate: str, obj) -> None:
        triples.append(ox.Triple(subject, _n(predicate), obj))

    add(dataset, VERSION_INFO, ox.Literal(version))
    add(dataset, DCAT_VERSION, ox.Literal(version))
    add(dataset, ISSUED, ox.Literal(info.issued.isoformat(), datatype=_n(XSD + "date")))
    triples += _versions(dataset, vocabulary, info, version)
    add(dataset, VOID + "triples", _int(len(index)))
    add(dataset, VOID + "entities", _int(len(entities)))
    add(dataset, VOID + "distinctSubjects", _int(len(index.by_subject)))
    add(dataset, VOID + "classes", _int(len(classes)))
    add(dataset, VOID + "properties", _int(len(properties)))
    add(dataset, VOID + "uriSpace", ox.Literal(vocabulary.entities))
    add(dataset, VOID + "sparqlEndpoint", _n(f"{base}sparql"))
    add(dataset, DCAT + "landingPage", _n(base))
    add(dataset, VOID + "rootResource", _n(vocabulary.entities))
    for namespace in ("https://schema.org/", vocabulary.ontology, "http://www.w3.org/ns/prov#",
                      "http://semanticweb.cs.vu.nl/2009/11/sem/"):
        add(dataset, VOID + "vocabulary", _n(namespace))
    events = [ref for ref in entities if ref.kind == "event"][:3]
    for ref in events:
        add(dataset, VOID + "exampleResource", _n(ref.iri(base)))
    for number, (cls, count) in enumerate(sorted(classes.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{vocabulary.dataset}#class-{number + 1}")
        add(dataset, VOID + "classPartition", partition)
        add(partition, VOID + "class", cls)
        add(partition, VOID + "entities", _int(count))
    for number, (prop, count) in enumerate(sorted(properties.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{vocabulary.dataset}#property-{number + 1}")
        add(dataset, VOID + "propertyPartition", partition)
        add(partition, VOID + "property", prop)
        add(partition, VOID + "triples", _int(count))
    for summary in graphs:
        graph = _n(summary.iri)
        add(dataset, VOID + "subset", graph)
        add(graph, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _n(VOID + "Dataset"))
        add(graph, VOID + "triples", _int(summary.triples))
        for document in summary.derived_from:
            add(graph, PROV + "wasDerivedFrom", _n(document))
    triples += _distributions(dataset, vocabulary, dumps)
    sums = _n(f"{base}dumps/SHA256SUMS")  # served by the route "dump-checksums", for `sha256sum -c`
    add(dataset, RDFS + "seeAlso", sums)
    add(sums, RDFS + "label", ox.Literal("SHA-256 checksums of the dumps, for sha256sum -c", language="en"))
    add(sums, DCTERMS + "format", _n(IANA + "text/plain"))
    add(dataset, DCTERMS + "bibliographicCitation", ox.Literal(citation_of(triples, dataset.value).text()))
    return triples


def _versions(dataset: ox.NamedNode, vocabulary: Vocabulary, info: ReleaseInfo, version: str) -> list[ox.Triple]:
    """This release, and the one it follows, as versions of the dataset (DCAT 3 versioning)."""
    date = _n(XSD + "date")
    releases = [(version, info.issued)] + ([(info.previous.version, info.previous.issued)] if info.previous else [])
    nodes = [_n(versioned_iri(vocabulary.base, number)) for number, _ in releases]
    triples = [ox.Triple(dataset, _n(DCAT + "hasCurrentVersion"), nodes[0])]
    for node, (number, issued) in zip(nodes, releases, strict=True):
        triples += [ox.Triple(dataset, _n(DCAT + "hasVersion"), node),
                    ox.Triple(node, _n("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), _n(DCAT + "Dataset")),
                    ox.Triple(node, _n(DCTERMS + "isVersionOf"), dataset),
                    ox.Triple(node, _n(DCAT_VERSION), ox.Literal(number)),
                    ox.Triple(node, _n(ISSUED), ox.Literal(issued.isoformat(), datatype=date))]
    if info.previous is not None:
        triples += [ox.Triple(subject, _n(DCAT + "previousVersion"), nodes[1]) for subject in (dataset, nodes[0])]
    return triples


def _distributions(dataset: ox.NamedNode, vocabulary: Vocabulary, dumps: list[Dump]) -> list[ox.Triple]:
    """Each dump and its gzip copy as a DCAT distribution of ``dataset``."""
    triples: list[ox.Triple] = []

    def add(subject, predicate: str, obj) -> None:
        triples.append(ox.Triple(subject, _n(predicate), obj))

    for dump in dumps:
        for compressed in (False, True):
            url = _n(f"{vocabulary.base}{dump.path}{'.gz' if compressed else ''}")
            add(dataset, DCAT + "distribution", url)
            add(dataset, VOID + "dataDump", url)
            add(url, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _n(DCAT + "Distribution"))
            add(url, DCAT + "downloadURL", url)
            add(url, DCAT + "mediaType", _n(IANA + dump.format.media_type))
            add(url, RDFS + "label", ox.Literal(f"{dump.format.label} dump{' (gzip)' if compressed else ''}", language="en"))
            add(url, DCTERMS + "license", _n(LICENSE))
            if compressed:
                add(url, DCAT + "compressFormat", _n(IANA + GZIP.media_type))
            size, digest = (dump.gzip_size, dump.gzip_sha256) if compressed else (dump.size, dump.sha256)
            add(url, DCAT + "byteSize", ox.Literal(str(size), datatype=_n(XSD + "nonNegativeInteger")))
            # a fragment of the dataset's IRI, not a blank node: the same input gives the same bytes
            checksum = _n(f"{vocabulary.dataset}#sha256-{dump.path.rsplit('/', 1)[-1]}{'.gz' if compressed else ''}")
            add(url, SPDX + "checksum", checksum)
            add(checksum, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _n(SPDX + "Checksum"))
            add(checksum, SPDX + "algorithm", _n(SPDX + "checksumAlgorithm_sha256"))
            add(checksum, SPDX + "checksumValue", ox.Literal(digest, datatype=_n(XSD + "hexBinary")))
    return triples


def write_void(context: BuildContext, index: TripleIndex, graphs: list[GraphSummary], entities: list[EntityRef],
               dumps: list[Dump], languages: list[str]) -> None:
    """Write ``void.{ttl,jsonld,nt,rdf}`` (also served at /dataset and /.well-known/void), and
    ``datacite.json``, the same description for a deposit with a repository."""
    release, info = context.release, context.info
    version = release_version(release, info)
    triples = describe_dataset(index, graphs, entities, context.vocabulary, dumps, info, version)
    write_graph(triples, release / "void", context.style)
    write_bytes(release / DATACITE, datacite_json(triples, context.vocabulary.dataset))
    for language in languages:
        html = render_dataset_page(triples, context.base, language)
        write_bytes(release / "pages" / f"dataset.{language}.html", html.encode(), gzipped=True)
