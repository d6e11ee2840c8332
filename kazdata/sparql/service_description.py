"""The W3C SPARQL 1.1 Service Description of the endpoint, with its dataset and limits."""

from __future__ import annotations

import pyoxigraph as ox

from kazdata.formats import Format
from kazdata.release.opened import Release
from kazdata.settings import Settings
from kazdata.vocabulary import PREFIXES, Vocabulary

SD, VOID, XSD = PREFIXES["sd"], PREFIXES["void"], PREFIXES["xsd"]
RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
RDFS_COMMENT = ox.NamedNode(PREFIXES["rdfs"] + "comment")


def service_description(endpoint_url: str, release: Release, settings: Settings,
                        result_formats: list[Format], graph_formats: list[Format]) -> list[ox.Triple]:
    """Triples describing the endpoint at ``endpoint_url`` (the URL the client used)."""
    n = ox.NamedNode
    vocabulary = Vocabulary(release.base)
    kaz = vocabulary.ontology
    service, dataset, default_graph = n(endpoint_url), ox.BlankNode("dataset"), ox.BlankNode("default")
    triples = [
        ox.Triple(service, RDF_TYPE, n(SD + "Service")),
        ox.Triple(service, n(SD + "endpoint"), service),
        ox.Triple(service, n(SD + "supportedLanguage"), n(SD + "SPARQL11Query")),
        ox.Triple(service, n(SD + "feature"), n(SD + "UnionDefaultGraph")),
        ox.Triple(service, n(SD + "defaultDataset"), dataset),
        ox.Triple(service, RDFS_COMMENT, ox.Literal(
            "Read-only SPARQL 1.1 Query endpoint. The default graph is the union of every source's "
            "named graph and the ontology's graph; each is also available to GRAPH. SPARQL Update, "
            "SERVICE (unless allow-listed) is refused; a graph that FROM or a graph parameter names and "
            "the release lacks is empty, never fetched.", language="en")),
        ox.Triple(service, n(kaz + "queryTimeLimit"), ox.Literal(str(settings.query_timeout), datatype=n(XSD + "decimal"))),
        ox.Triple(service, n(kaz + "resultLimit"), ox.Literal(str(settings.result_limit), datatype=n(XSD + "integer"))),
        ox.Triple(service, n(kaz + "requestBodyLimit"), ox.Literal(str(settings.max_body), datatype=n(XSD + "integer"))),
        ox.Triple(dataset, RDF_TYPE, n(SD + "Dataset")),
        ox.Triple(dataset, n(SD + "defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, n(SD + "Graph")),
        ox.Triple(default_graph, n(VOID + "inDataset"), n(vocabulary.dataset)),
        ox.Triple(dataset, n(VOID + "inDataset"), n(vocabulary.dataset)),
    ]
    for fmt in [*result_formats, *graph_formats]:
        if fmt.w3c is not None:
            triples.append(ox.Triple(service, n(SD + "resultFormat"), n(fmt.w3c)))
    for name in release.graphs:
        node = ox.BlankNode("g-" + name.rsplit("/", 1)[-1])
        triples += [ox.Triple(dataset, n(SD + "namedGraph"), node),
                    ox.Triple(node, RDF_TYPE, n(SD + "NamedGraph")),
                    ox.Triple(node, n(SD + "name"), n(name))]
    return triples
