"""The VoID + DCAT description of a release: the curated metadata in ``data/dataset.ttl`` plus
what the build measures (triples, classes, properties, subsets per source, dumps, version)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyoxigraph as ox

from kazdata import bundled
from kazdata.build.checksums import file_digest
from kazdata.build.dumps import Dump, load_context, write_bytes, write_graph
from kazdata.entities import RDF_TYPE, list_entities
from kazdata.formats import Style
from kazdata.namespaces import LICENSE, PREFIXES
from kazdata.pages import GraphView, render_dataset_page
from kazdata.sources import load_source

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


def describe_dataset(store: ox.Store, base: str, dumps: list[Dump], version: str) -> list[ox.Triple]:
    dataset = _n(dataset_iri(base))
    triples = list(load_source(bundled.bundled_dir("data") / "dataset.ttl", base).triples)
    union = {quad.triple for quad in store}
    classes = Counter(t.object for t in union if t.predicate == RDF_TYPE)
    properties = Counter(t.predicate for t in union)

    def add(subject, predicate: str, obj) -> None:
        triples.append(ox.Triple(subject, _n(predicate), obj))

    add(dataset, OWL + "versionInfo", ox.Literal(version))
    add(dataset, DCAT + "version", ox.Literal(version))
    add(dataset, VOID + "triples", _int(len(union)))
    add(dataset, VOID + "entities", _int(len(list_entities(store, base))))
    add(dataset, VOID + "distinctSubjects", _int(len({t.subject for t in union})))
    add(dataset, VOID + "classes", _int(len(classes)))
    add(dataset, VOID + "properties", _int(len(properties)))
    add(dataset, VOID + "uriSpace", ox.Literal(f"{base}id/"))
    add(dataset, VOID + "sparqlEndpoint", _n(f"{base}sparql"))
    add(dataset, DCAT + "landingPage", _n(base))
    add(dataset, VOID + "rootResource", _n(f"{base}id/"))
    for vocabulary in ("https://schema.org/", f"{base}ontology#", "http://www.w3.org/ns/prov#",
                       "http://semanticweb.cs.vu.nl/2009/11/sem/"):
        add(dataset, VOID + "vocabulary", _n(vocabulary))
    events = [ref for ref in list_entities(store, base) if ref.kind == "event"][:3]
    for ref in events:
        add(dataset, VOID + "exampleResource", _n(ref.iri(base)))
    for index, (cls, count) in enumerate(sorted(classes.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{base}dataset#class-{index + 1}")
        add(dataset, VOID + "classPartition", partition)
        add(partition, VOID + "class", cls)
        add(partition, VOID + "entities", _int(count))
    for index, (prop, count) in enumerate(sorted(properties.items(), key=lambda kv: str(kv[0]))):
        partition = _n(f"{base}dataset#property-{index + 1}")
        add(dataset, VOID + "propertyPartition", partition)
        add(partition, VOID + "property", prop)
        add(partition, VOID + "triples", _int(count))
    for graph in sorted(store.named_graphs(), key=str):
        add(dataset, VOID + "subset", graph)
        add(graph, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _n(VOID + "Dataset"))
        add(graph, VOID + "triples", _int(sum(1 for _ in store.quads_for_pattern(None, None, None, graph))))
        derived = {q.object for q in store.quads_for_pattern(None, _n(PROV + "wasDerivedFrom"), None, graph)}
        for document in sorted(derived, key=str):
            add(graph, PROV + "wasDerivedFrom", document)
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


def write_void(store: ox.Store, release: Path, prefixes: dict[str, str], base: str,
               dumps: list[Dump]) -> None:
    """Write ``void.{ttl,jsonld,nt,rdf}``; also served at /dataset and /.well-known/void."""
    triples = describe_dataset(store, base, dumps, release_version(release))
    write_graph(triples, release / "void", Style(prefixes=prefixes, context=load_context(base)))
    for language in GraphView(store, base).languages:
        html = render_dataset_page(triples, base, language)
        write_bytes(release / "pages" / f"dataset.{language}.html", html.encode(), gzipped=True)
