"""The series of releases in the forms clients read it: DCAT versions in RDF, an Atom feed, and
Memento TimeMaps (RFC 7089) in link-format and in RDF.

Each is written from the kept releases' index (``kazdata.release.kept``) and the change
summaries the builds wrote; nothing here reads the data or knows HTTP. URLs are given as the
``root`` they are published under (the site's public URL) plus a path.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import format_datetime

import pyoxigraph as ox

from kazdata.formats import RDF_XML, TURTLE, Format, prefixes_used_by, rdf_bytes, sort_triples
from kazdata.release.history import KeptRelease
from kazdata.vocabulary import PREFIXES, prefixes_for

DCAT, DCTERMS, RDF = PREFIXES["dcat"], PREFIXES["dcterms"], "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PROV, XSD, RDFS = "http://www.w3.org/ns/prov#", "http://www.w3.org/2001/XMLSchema#", PREFIXES["rdfs"]
ATOM = "http://www.w3.org/2005/Atom"
#: the media type of a TimeMap in link-format (RFC 7089, section 5.1)
LINK_FORMAT = "application/link-format"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def http_date(moment: datetime) -> str:
    """``moment`` as an HTTP date (RFC 9110 IMF-fixdate), as Memento-Datetime is written."""
    return format_datetime(moment, usegmt=True)


def graph_bytes(triples: list[ox.Triple], fmt: Format, base: str) -> bytes:
    """``triples`` in the graph format ``fmt``, sorted, with the prefixes they use (none in N-Triples
    or JSON-LD, which Oxigraph writes expanded)."""
    iris = {term.value for t in triples for term in (t.subject, t.predicate, t.object) if isinstance(term, ox.NamedNode)}
    iris |= {t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal)}
    prefixes = prefixes_used_by(iris, prefixes_for(base)) if fmt in (TURTLE, RDF_XML) else None
    return rdf_bytes(sort_triples(triples), fmt.rdf_format, prefixes=prefixes)


def series_triples(kept: list[KeptRelease], base: str, current: str) -> list[ox.Triple]:
    """The dataset's versions (DCAT 3): each kept release as ``dcat:hasVersion`` of the dataset,
    with its version, date, predecessor in the series and the change set it was built with."""
    dataset = _n(f"{base}dataset")
    triples = [ox.Triple(dataset, _n(RDF + "type"), _n(DCAT + "Dataset"))]
    previous = None
    for entry in kept:
        node = _n(f"{base}releases/{entry.version}")
        triples += [ox.Triple(dataset, _n(DCAT + "hasVersion"), node),
                    ox.Triple(node, _n(RDF + "type"), _n(DCAT + "Dataset")),
                    ox.Triple(node, _n(DCTERMS + "isVersionOf"), dataset),
                    ox.Triple(node, _n(DCAT + "version"), ox.Literal(entry.version)),
                    ox.Triple(node, _n(DCTERMS + "issued"), ox.Literal(entry.issued.isoformat(),
                                                                       datatype=_n(XSD + "date"))),
                    ox.Triple(node, _n(RDFS + "seeAlso"), _n(f"{base}releases/{entry.version}/dumps/kazdata.nq"))]
        if previous is not None:
            triples.append(ox.Triple(node, _n(DCAT + "previousVersion"), previous))
        if entry.version == current:
            triples.append(ox.Triple(dataset, _n(DCAT + "hasCurrentVersion"), node))
        previous = node
    return triples


def atom_feed(kept: list[KeptRelease], summaries: dict[str, dict | None], root: str, title: str) -> bytes:
    """An Atom feed (RFC 4287) of the releases, newest first, each with its change summary."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
        element.text = text
        return element

    add(feed, "id", f"{root}releases/")
    add(feed, "title", f"{title}: releases")
    add(feed, "updated", kept[-1].moment.isoformat() if kept else "1970-01-01T00:00:00+00:00")
    add(feed, "link", href=f"{root}releases/", rel="alternate", type="text/html")
    add(add(feed, "author"), "name", title)
    for entry in reversed(kept):
        item = add(feed, "entry")
        add(item, "id", f"{root}releases/{entry.version}")
        add(item, "title", f"Release {entry.version}, issued {entry.issued.isoformat()}")
        add(item, "updated", entry.moment.isoformat())
        add(item, "link", href=f"{root}releases/{entry.version}/changes", rel="alternate", type="text/html")
        add(item, "link", href=f"{root}releases/{entry.version}/dumps/kazdata.nq", rel="enclosure",
            type="application/n-quads")
        add(item, "summary", summary_text(summaries.get(entry.version)))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def summary_text(summary: dict | None) -> str:
    """One sentence on what a release changed, from its change summary."""
    if summary is None:
        return "The first release kept: no change set."
    counts, triples = summary["counts"], summary["triples"]
    return (f"Since {summary['previous']}: {counts['added']} entities added, {counts['removed']} removed, "
            f"{counts['changed']} changed; {triples['added']} triples added, {triples['removed']} removed.")


def timemap_links(original: str, timemap: str, mementos: list[tuple[str, KeptRelease]]) -> str:
    """A TimeMap in link-format (RFC 7089, section 5.1.1): ``original`` is also its own TimeGate."""
    first, last = mementos[0][1], mementos[-1][1]
    lines = [f'<{original}>;rel="original timegate"',
             f'<{timemap}>;rel="self";type="{LINK_FORMAT}";from="{http_date(first.moment)}";'
             f'until="{http_date(last.moment)}"']
    for at, (url, entry) in enumerate(mementos):
        rel = " ".join(([("first")] if at == 0 else []) + (["last"] if at == len(mementos) - 1 else []) + ["memento"])
        lines.append(f'<{url}>;rel="{rel}";datetime="{http_date(entry.moment)}"')
    return ",\n".join(lines) + "\n"


def timemap_triples(original: str, timemap: str, mementos: list[tuple[str, KeptRelease]],
                    base: str) -> list[ox.Triple]:
    """The same TimeMap in RDF: each memento ``prov:specializationOf`` the original, generated at
    its Memento-Datetime, in its release's versioned dataset."""
    node = _n(timemap)
    triples = [ox.Triple(node, _n(PREFIXES["foaf"] + "primaryTopic"), _n(original))]
    for url, entry in mementos:
        memento = _n(url)
        triples += [ox.Triple(node, _n(DCTERMS + "hasPart"), memento),
                    ox.Triple(memento, _n(PROV + "specializationOf"), _n(original)),
                    ox.Triple(memento, _n(PROV + "generatedAtTime"),
                              ox.Literal(entry.moment.isoformat().replace("+00:00", "Z"), datatype=_n(XSD + "dateTime"))),
                    ox.Triple(memento, _n(PREFIXES["void"] + "inDataset"), _n(f"{base}releases/{entry.version}"))]
    return triples
