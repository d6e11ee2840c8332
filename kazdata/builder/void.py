"""The VoID + DCAT description of a release: the curated metadata in ``data/dataset.ttl`` plus
what the build measures (triples, classes, properties, subsets per source, dumps, version),
counted on the N-Triples and N-Quads lines the dumps are written from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kazdata.builder.dumps import Dump, load_context, write_bytes, write_graph
from kazdata.entities.description import RDF_TYPE, EntityRef
from kazdata.entities.pages import render_dataset_page
from kazdata.entities.triples import TripleIndex, resource, split_line
from kazdata.formats import Style
from kazdata.release.checksums import file_digest
from kazdata.sources import bundled
from kazdata.sources.curated import load_source
from kazdata.vocabulary import LICENSE, PREFIXES

VOID, DCAT, DCTERMS, PROV, OWL, XSD, RDFS = (PREFIXES[name] for name in
                                             ("void", "dcat", "dcterms", "prov", "owl", "xsd", "rdfs"))
IANA = "https://www.iana.org/assignments/media-types/"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD + "integer"))


def dataset_iri(base: str) -> str:
    return f"{base}dataset"


def release_version(release: Path) -> str:
    """A content address of the release: the first 12 hex digits of the N-Quads dump's SHA-256."""
    return file_digest(release / "dumps" / "kazdata.nq")[:12]


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


def describe_dataset(index: TripleIndex, graphs: list[GraphSummary], entities: list[EntityRef], base: str,
                     dumps: list[Dump], version: str) -> list[ox.Triple]:
    dataset = _n(dataset_iri(base))
    triples = list(load_source(bundled.bundled_dir("data") / "dataset.ttl", base).triples)
    type_token = f"<{RDF_TYPE.value}>".encode()
    classes = Counter(resource(split_line(line)[2]) for line in index.by_predicate.get(type_token, ()))
    properties = {resource(predicate): len(lines) for predicate, lines in index.by_predicate.items()}

    def add(subject, predicate: str, obj) -> None:
        triples.append(ox.Triple(subject, _n(predicate), obj))

    add(dataset, OWL + "versionInfo", ox.Literal(version))
    add(dataset, DCAT + "version", ox.Literal(version))
    add(dataset, VOID + "triples", _int(len(index)))
    add(dataset, VOID + "entities", _int(len(entities)))
    add(dataset, VOID + "distinctSubjects", _int(len(index.by_subject)))
    add(dataset, VOID + "classes", _int(len(classes)))
    add(dataset, VOID + "properties", _int(len(properties)))
    add(dataset, VOID + "uriSpace", ox.Literal(f"{base}id/"))
    add(dataset, VOID + "sparqlEndpoint", _n(f"{base}sparql"))
    add(dataset, DCAT + "landingPage", _n(base))
    add(dataset, VOID + "rootResource", _n(f"{base}id/"))
    for vocabulary in ("https://schema.org/", f"{base}ontology#", "http://www.w3.org/ns/prov#",
                       "http://semanticweb.cs.vu.nl/2009/11/sem/"):
        add(dataset, VOID + "vocabulary", _n(vocabulary))
    events = [ref for ref in entities if ref.kind == "event"][:3]
    for ref in events:
        add(dataset, VOID + "exampleResource", _n(ref.iri(base)))
    for number, (cls, count) in enumerate(sorted(classes.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{base}dataset#class-{number + 1}")
        add(dataset, VOID + "classPartition", partition)
        add(partition, VOID + "class", cls)
        add(partition, VOID + "entities", _int(count))
    for number, (prop, count) in enumerate(sorted(properties.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{base}dataset#property-{number + 1}")
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
    for dump in dumps:
        for compressed in (False, True):
            url = _n(f"{base}{dump.path}{'.gz' if compressed else ''}")
            add(dataset, DCAT + "distribution", url)
            add(dataset, VOID + "dataDump", url)
            add(url, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _n(DCAT + "Distribution"))
            add(url, DCAT + "downloadURL", url)
            add(url, DCAT + "mediaType", _n(IANA + dump.format.media_type))
            add(url, RDFS + "label", ox.Literal(f"{dump.format.label} dump{' (gzip)' if compressed else ''}", language="en"))
            add(url, DCTERMS + "license", _n(LICENSE))
            if compressed:
                add(url, DCAT + "compressFormat", _n(IANA + "application/gzip"))
            else:
                add(url, DCAT + "byteSize", _int(dump.size))
    return triples


def write_void(index: TripleIndex, graphs: list[GraphSummary], entities: list[EntityRef], release: Path,
               prefixes: dict[str, str], base: str, dumps: list[Dump], languages: list[str]) -> None:
    """Write ``void.{ttl,jsonld,nt,rdf}``; also served at /dataset and /.well-known/void."""
    triples = describe_dataset(index, graphs, entities, base, dumps, release_version(release))
    write_graph(triples, release / "void", Style(prefixes=prefixes, context=load_context(base)))
    for language in languages:
        html = render_dataset_page(triples, base, language)
        write_bytes(release / "pages" / f"dataset.{language}.html", html.encode(), gzipped=True)
