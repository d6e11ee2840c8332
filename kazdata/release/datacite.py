"""``datacite.json``: the release as DataCite Metadata Schema 4.5 (JSON), for a deposit.

An operator who deposits a release with a repository that mints DOIs (Zenodo, a DataCite member's
repository) needs its metadata in DataCite's kernel: creators, title, publisher, year, resource
type, plus version, dates, rights, sizes and formats, and the version it follows. This is the
JSON form of the kernel (the ``attributes`` of DataCite's REST API), generated, like the
citation, from the release's own description, so the two cannot disagree. It has no DOI: the
repository mints one when the release is deposited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyoxigraph as ox

from kazdata.release.citation import DCAT, DCTERMS, citation_of
from kazdata.vocabulary import LICENSE, PREFIXES

DATACITE = "datacite.json"
SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
IANA = "https://www.iana.org/assignments/media-types/"
#: the data licence by its SPDX identifier, as DataCite's rightsList names it
LICENCES = {LICENSE: ("Creative Commons Attribution 4.0 International", "CC-BY-4.0")}


def datacite_of(triples: Iterable[ox.Triple], dataset: str) -> dict:
    """The DataCite 4.5 attributes of the release described by ``triples``."""
    triples = list(triples)
    citation = citation_of(triples, dataset)

    def objects(subject: str, predicate: str) -> list[ox.NamedNode | ox.Literal]:
        return sorted((t.object for t in triples if t.subject == ox.NamedNode(subject)
                       and t.predicate.value == predicate and isinstance(t.object, (ox.NamedNode, ox.Literal))),
                      key=lambda term: term.value)

    distributions = [d.value for d in objects(dataset, DCAT + "distribution")]
    sizes = [f"{objects(d, DCAT + 'byteSize')[0].value} bytes ({d.rsplit('/', 1)[-1]})" for d in distributions
             if objects(d, DCAT + "byteSize")]
    formats = sorted({m.value[len(IANA):] for d in distributions for m in objects(d, DCAT + "mediaType")})
    licence = next((term.value for term in objects(dataset, DCTERMS + "license")), "")
    rights = [{"rights": LICENCES.get(licence, (licence, ""))[0], "rightsUri": licence}]
    if licence in LICENCES:
        rights[0] |= {"rightsIdentifier": LICENCES[licence][1], "rightsIdentifierScheme": "SPDX",
                      "schemeUri": "https://spdx.org/licenses/"}
    rights += [{"rights": r.value, "lang": "en"} for statement in objects(dataset, DCTERMS + "rights")
               for r in objects(statement.value, PREFIXES["rdfs"] + "label")]
    previous = [{"relatedIdentifier": term.value, "relatedIdentifierType": "URL", "relationType": "IsNewVersionOf"}
                for term in objects(dataset, DCAT + "previousVersion")]
    return {
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Knowledge graph (RDF)"},
        "creators": [{"name": name, "nameType": "Organizational"} for name in citation.creators],
        "titles": [{"title": citation.title, "lang": "en"}],
        "publisher": {"name": citation.publisher},
        "publicationYear": citation.issued[:4],
        "dates": [{"date": citation.issued, "dateType": "Issued"}],
        "version": citation.version,
        "language": "en",
        "url": dataset,
        "subjects": [{"subject": k.value} for k in objects(dataset, DCAT + "keyword")],
        "descriptions": [{"description": d.value, "descriptionType": "Abstract", "lang": "en"}
                         for d in objects(dataset, DCTERMS + "description")],
        "rightsList": rights,
        "sizes": sizes,
        "formats": formats,
        "relatedIdentifiers": previous,
        "schemaVersion": SCHEMA_VERSION,
    }


def datacite_json(triples: Iterable[ox.Triple], dataset: str) -> bytes:
    """``datacite_of`` as the bytes of ``datacite.json`` (sorted keys: the same input, the same bytes)."""
    return (json.dumps(datacite_of(triples, dataset), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
