"""How to cite a release, generated from its own description (the VoID/DCAT triples).

The text follows DataCite's recommended form, ``Creator (Year). Title (Version v) [Data set].
Publisher. Identifier``, with the issue date in full because two releases can share a year; the
same fields make the BibTeX entry (``@misc``, which every BibTeX style knows) and the CSL-JSON
item (what Zotero and citeproc read). The build writes the text as
``dcterms:bibliographicCitation`` and the dataset page shows all three.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from kazdata.vocabulary import PREFIXES

DCTERMS, DCAT, OWL, RDFS = (PREFIXES[name] for name in ("dcterms", "dcat", "owl", "rdfs"))


@dataclass(frozen=True)
class Citation:
    creators: tuple[str, ...]
    title: str
    version: str
    issued: str  # YYYY-MM-DD
    publisher: str
    identifier: str  # the dataset's IRI

    def text(self) -> str:
        """The citation as one line of text."""
        return (f"{'; '.join(self.creators)} ({self.issued[:4]}). {self.title} (Version {self.version}, "
                f"issued {self.issued}) [Data set]. {self.publisher}. {self.identifier}")

    def bibtex(self) -> str:
        """A BibTeX ``@misc`` entry; the key is ``kazdata`` and the version, made BibTeX-safe."""
        key = "kazdata-" + re.sub(r"[^0-9A-Za-z]+", "-", self.version).strip("-")
        # braces keep the creators (organisations) and the title's capitals as written
        fields = [("author", "{" + " and ".join(f"{{{c}}}" for c in self.creators) + "}"),
                  ("title", f"{{{{{_tex(self.title)}}}}}"), ("year", f"{{{self.issued[:4]}}}"),
                  ("month", f"{{{int(self.issued[5:7])}}}"), ("version", f"{{{_tex(self.version)}}}"),
                  ("publisher", f"{{{_tex(self.publisher)}}}"), ("howpublished", f"{{\\url{{{self.identifier}}}}}"),
                  ("url", f"{{{self.identifier}}}"), ("note", f"{{Data set, issued {self.issued}}}")]
        return f"@misc{{{key},\n" + "".join(f"  {name} = {value},\n" for name, value in fields) + "}\n"


    def csl_json(self) -> str:
        """A CSL-JSON item (an array of one, as citeproc reads it); creators are organisations (``literal``)."""
        item = {"id": f"kazdata-{self.version}", "type": "dataset", "title": self.title,
                "author": [{"literal": creator} for creator in self.creators],
                "issued": {"date-parts": [[int(part) for part in self.issued.split("-")]]},
                "version": self.version, "publisher": self.publisher, "URL": self.identifier}
        return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


def _tex(text: str) -> str:
    """``text`` with the characters BibTeX treats specially escaped."""
    return re.sub(r"([&%$#_{}])", r"\\\1", text)


def citation_of(triples: Iterable[ox.Triple], dataset: str) -> Citation:
    """The citation of ``dataset`` from its description; raises ValueError naming a missing field."""
    objects: dict[tuple[str, str], list[ox.NamedNode | ox.Literal]] = {}
    for triple in triples:
        if isinstance(triple.subject, ox.NamedNode) and isinstance(triple.object, (ox.NamedNode, ox.Literal)):
            objects.setdefault((triple.subject.value, triple.predicate.value), []).append(triple.object)

    def one(subject: str, *predicates: str) -> str:
        for predicate in predicates:
            values = sorted(term.value for term in objects.get((subject, predicate), ()))
            if values:
                return values[0]
        raise ValueError(f"the description of {subject} has no {' or '.join(predicates)}: it cannot be cited")

    creators = tuple(sorted(one(term.value, RDFS + "label") for term in objects.get((dataset, DCTERMS + "creator"), ())))
    if not creators:
        raise ValueError(f"the description of {dataset} has no dcterms:creator: it cannot be cited")
    return Citation(creators=creators, title=one(dataset, DCTERMS + "title"),
                    version=one(dataset, DCAT + "version", OWL + "versionInfo"),
                    issued=one(dataset, DCTERMS + "issued")[:10],
                    publisher=one(one(dataset, DCTERMS + "publisher"), RDFS + "label"), identifier=dataset)
