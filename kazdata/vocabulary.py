"""The dataset's namespaces, in one table.

The same table feeds the Turtle dumps, the JSON-LD context, the predeclared SPARQL prefixes
and the query page, so a prefix a user sees in one place works in all the others.
"""

from __future__ import annotations

DEFAULT_BASE = "https://w3id.org/kazdata/"
#: The licence of the data and of every release (CC BY 4.0), stated in documents, dumps and headers.
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

#: prefix -> namespace IRI, for a release whose canonical base is ``DEFAULT_BASE``.
PREFIXES: dict[str, str] = {
    "kaz": DEFAULT_BASE + "ontology#",
    "kd": DEFAULT_BASE + "id/",
    "schema": "https://schema.org/",
    "sem": "http://semanticweb.cs.vu.nl/2009/11/sem/",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sh": "http://www.w3.org/ns/shacl#",
    "vann": "http://purl.org/vocab/vann/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "wd": "http://www.wikidata.org/entity/",
    "gn": "https://sws.geonames.org/",
}


def prefixes_for(base: str) -> dict[str, str]:
    """The prefix table for a release published under ``base`` instead of the default."""
    return {name: iri.replace(DEFAULT_BASE, base, 1) if iri.startswith(DEFAULT_BASE) else iri
            for name, iri in PREFIXES.items()}
