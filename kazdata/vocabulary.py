"""Every namespace and every IRI the dataset mints, derived from the release's base.

The prefix table feeds the Turtle dumps, the JSON-LD context, the predeclared SPARQL prefixes
and the query page, so a prefix a user sees in one place works in all the others. The IRIs a
release mints (entities, their documents, named graphs, ontology terms, the dataset, skolem
genids) come from ``Vocabulary(base)``, so a release built with ``--base`` names nothing under
the default base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: The base the curated sources, the ontology and the shapes are written with.
DEFAULT_BASE = "https://w3id.org/kazdata/"
#: The licence of the data and of every release (CC BY 4.0), stated in documents, dumps and headers.
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

#: A slug: lowercase ASCII letters, digits and hyphens, not starting with a hyphen. Kinds and
#: slugs of entity IRIs (``{base}id/{kind}/{slug}``) and source names (``{base}graph/{name}``)
#: are slugs, so they can appear in URLs, file names and headers as they are.
SLUG_PATTERN = "[a-z0-9][a-z0-9-]*"
SLUG = re.compile(f"^{SLUG_PATTERN}$")


def is_slug(text: str) -> bool:
    return SLUG.match(text) is not None


#: The namespaces a release mints, by attribute of ``Vocabulary``: each is ``{base}{path}``.
_MINTED = {"entities": "id/", "documents": "doc/", "ontology": "ontology#", "dataset": "dataset",
           "genids": ".well-known/genid/"}


@dataclass(frozen=True)
class Vocabulary:
    """The IRIs of a release published under ``base``.

    >>> vocabulary = Vocabulary("https://example.org/kz/")
    >>> vocabulary.entity("event/a"), vocabulary.graph("news"), vocabulary.term("Protest")
    ('https://example.org/kz/id/event/a', 'https://example.org/kz/graph/news', 'https://example.org/kz/ontology#Protest')
    >>> vocabulary.rebase("https://w3id.org/kazdata/id/place/aktau")
    'https://example.org/kz/id/place/aktau'
    """

    base: str = DEFAULT_BASE
    entities: str = field(init=False, repr=False)  # {base}id/: entities are {base}id/{kind}/{slug}
    documents: str = field(init=False, repr=False)  # {base}doc/: the document about each entity
    ontology: str = field(init=False, repr=False)  # {base}ontology#: the ontology's terms (kaz:)
    dataset: str = field(init=False, repr=False)  # {base}dataset: the dataset (VoID, DCAT)
    genids: str = field(init=False, repr=False)  # {base}.well-known/genid/: skolemised blank nodes

    def __post_init__(self) -> None:
        for name, path in _MINTED.items():
            object.__setattr__(self, name, self.base + path)

    def entity(self, path: str) -> str:
        """The IRI of the entity at ``{kind}/{slug}``."""
        return self.entities + path

    def document(self, path: str) -> str:
        """The IRI of the document about the entity at ``{kind}/{slug}``."""
        return self.documents + path

    def graph(self, name: str) -> str:
        """The named graph of the source (or of the ontology) called ``name``."""
        return f"{self.base}graph/{name}"

    def term(self, local_name: str) -> str:
        return self.ontology + local_name

    def genid(self, source: str, number: int) -> str:
        return f"{self.genids}{source}-{number}"

    @property
    def prefixes(self) -> dict[str, str]:
        return prefixes_for(self.base)

    def rebase(self, text: str) -> str:
        """``text`` (an IRI, or a literal such as a SPARQL query, a message quoting IRIs or a
        shape's ``sh:pattern``) with the default base replaced by this one: sources, the
        ontology and the shapes are written with the default base."""
        if self.base == DEFAULT_BASE:
            return text
        return text.replace(DEFAULT_BASE, self.base).replace(_pattern(DEFAULT_BASE), _pattern(self.base))


def _pattern(base: str) -> str:
    """``base`` as the shapes write it in a regular expression: ``https://w3id[.]org/kazdata/``."""
    return "".join("[.]" if char == "." else re.escape(char) for char in base)


#: prefix -> namespace IRI, for a release whose canonical base is ``DEFAULT_BASE``.
PREFIXES: dict[str, str] = {
    "kaz": Vocabulary().ontology,
    "kd": Vocabulary().entities,
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
    return {name: Vocabulary(base).rebase(iri) for name, iri in PREFIXES.items()}
