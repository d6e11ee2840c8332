"""Every format kazdata speaks, once: name, media types, extension, serializer or results writer,
W3C format IRI, the place of its dump job and the Content-Type of its static files.

Content negotiation, ``Link`` headers, dump writing, the service description, the static
export and the round-trip tests all iterate these tables, so adding a format is one entry. HTML is a format like the others:
its documents are rendered by ``kazdata.entities.pages`` from the entity's stored triples, like the
other formats, not by a special case in the server.

Serialisers are deterministic (sorted input, no timestamps): the same triples give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kazdata.sparql.results import (
    ResultsWriter,
    write_csv,
    write_json,
    write_tsv,
    write_xml,
)

if TYPE_CHECKING:
    import rdflib


@dataclass(frozen=True)
class Style:
    """What a serializer may need besides the triples: prefixes for Turtle, the JSON-LD context."""

    prefixes: dict[str, str]
    context: dict = field(default_factory=dict)


Serializer = Callable[[list[ox.Triple], Style], bytes]
#: The W3C's names of formats (https://www.w3.org/ns/formats/), named by the service description.
W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    """One representation: the first media type is the one we send; the others are accepted."""

    name: str
    label: str
    media_types: tuple[str, ...]
    extension: str
    text: bool = True
    serializer: Serializer | None = None
    oxigraph: ox.RdfFormat | ox.QueryResultsFormat | None = None
    #: SELECT/ASK results writer (results formats only): streams rows, see kazdata.sparql.results
    results_writer: ResultsWriter | None = None
    #: ``http://www.w3.org/ns/formats/...`` (None: the W3C names no such format)
    w3c: str | None = None
    #: place of the format's dump job, longest first so shorter jobs fill the gaps (decision 007)
    dump_order: int | None = None

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8" if self.text else self.media_type

    def serialize(self, triples: list[ox.Triple], style: Style) -> bytes:
        """The triples written in this format (a graph format: the others have no ``serializer``)."""
        if self.serializer is None:
            raise TypeError(f"{self.label} is not a format of one graph")
        return self.serializer(triples, style)

    @property
    def rdf_format(self) -> ox.RdfFormat:
        """Oxigraph's name of this graph or dataset format (results formats have another kind)."""
        if not isinstance(self.oxigraph, ox.RdfFormat):
            raise TypeError(f"{self.label} is not an RDF format of Oxigraph")
        return self.oxigraph


def rdf_bytes(statements: Iterable[ox.Triple] | Iterable[ox.Quad], rdf_format: ox.RdfFormat, *,
              prefixes: dict[str, str] | None = None) -> bytes:
    """``ox.serialize`` into memory: given no ``output`` it returns the bytes, which its stubs
    type as ``bytes | None`` (``None`` is what it returns after writing to an ``output``)."""
    data = ox.serialize(statements, format=rdf_format, prefixes=prefixes)
    assert data is not None
    return data


def sort_triples(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Triples in a stable order: subject, then rdf:type first, then predicate and object."""
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    return sorted(set(triples), key=lambda t: (str(t.subject), str(t.predicate) != rdf_type,
                                               str(t.predicate), str(t.object)))


def _oxigraph_serializer(rdf_format: ox.RdfFormat, *, with_prefixes: bool) -> Serializer:
    def serialize(triples: list[ox.Triple], style: Style) -> bytes:
        prefixes = _used_prefixes(triples, style.prefixes) if with_prefixes else None
        return rdf_bytes(sort_triples(triples), rdf_format, prefixes=prefixes)
    return serialize


def _used_prefixes(triples: list[ox.Triple], prefixes: dict[str, str]) -> dict[str, str]:
    """Only the prefixes a document uses, so small documents stay small."""
    iris = {term.value for t in triples for term in (t.subject, t.predicate, t.object)
            if isinstance(term, ox.NamedNode)}
    iris |= {t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal)}
    return prefixes_used_by(iris, prefixes)


def prefixes_used_by(iris: set[str], prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes some of ``iris`` start with, except those whose local names hold '/': such a
    name would print as kd:event\\/x, less readable than the IRI."""
    used = {}
    for name, ns in sorted(prefixes.items()):
        locals_ = [iri[len(ns):] for iri in iris if iri.startswith(ns)]
        if locals_ and not any("/" in local for local in locals_):
            used[name] = ns
    return used


def to_rdflib(triples: Iterable[ox.Triple]) -> rdflib.Graph:
    """An rdflib graph of the triples, for what only rdflib does (compact JSON-LD, pySHACL).

    rdflib is imported here, on first use, so that a process that never needs it does not pay
    for importing it at start (decision 007, *Imports*).
    """
    import rdflib
    triples = sort_triples(triples)
    # rdflib's N-Triples parser gives each blank node a fresh random label unless told which
    # label stands for which node; mapping each label to itself keeps the input's labels, as
    # Oxigraph's writers do, so the same triples give the same compact JSON-LD in every process.
    labels = {term.value: term.value for t in triples for term in (t.subject, t.object)
              if isinstance(term, ox.BlankNode)}
    graph = rdflib.Graph()
    graph.parse(data=rdf_bytes(triples, ox.RdfFormat.N_TRIPLES), format="nt", bnode_context=labels)
    return graph


def compact_jsonld(triples: list[ox.Triple], style: Style) -> bytes:
    """Compact JSON-LD with the release's context embedded, nodes sorted by ``@id``.

    The context is embedded rather than referenced by URL so that no client, and no server
    of ours, has to fetch a remote context to read a document.
    """
    from rdflib.exceptions import Error as RdflibError
    try:
        graph = to_rdflib(triples)
        text = graph.serialize(format="json-ld", context=style.context, auto_compact=True)
    except RdflibError as error:  # e.g. RDF 1.2 terms, which rdflib lacks: as for other writers
        raise ValueError(f"rdflib cannot write this graph as JSON-LD: {error}") from error
    document = json.loads(text)
    context = document.pop("@context", style.context)
    nodes = document.pop("@graph", None)
    if nodes is None:  # a single node is compacted to the top level
        nodes = [document] if document else []
    body = {"@context": context, "@graph": _ordered(nodes)}
    return (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _ordered(value, key: str | None = None):
    """Sort JSON-LD arrays (sets in RDF, so order carries no meaning), except ``@list`` ones."""
    if isinstance(value, dict):
        return {k: _ordered(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_ordered(v) for v in value]
        if key == "@list":
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def _ntriples(triples: list[ox.Triple], style: Style) -> bytes:
    lines = rdf_bytes(sort_triples(triples), ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)
    return b"".join(sorted(lines))


TURTLE = Format("turtle", "Turtle", ("text/turtle", "application/x-turtle", "application/turtle"),
                "ttl", serializer=_oxigraph_serializer(ox.RdfFormat.TURTLE, with_prefixes=True),
                oxigraph=ox.RdfFormat.TURTLE, w3c=W3C_FORMATS + "Turtle", dump_order=0)
JSON_LD = Format("jsonld", "JSON-LD", ("application/ld+json", "application/json"), "jsonld",
                 serializer=compact_jsonld, oxigraph=ox.RdfFormat.JSON_LD, w3c=W3C_FORMATS + "JSON-LD",
                 dump_order=3)
N_TRIPLES = Format("ntriples", "N-Triples", ("application/n-triples", "text/plain"), "nt",
                   serializer=_ntriples, oxigraph=ox.RdfFormat.N_TRIPLES, w3c=W3C_FORMATS + "N-Triples",
                   dump_order=5)
RDF_XML = Format("rdfxml", "RDF/XML", ("application/rdf+xml", "application/xml"), "rdf",
                 serializer=_oxigraph_serializer(ox.RdfFormat.RDF_XML, with_prefixes=True),
                 oxigraph=ox.RdfFormat.RDF_XML, w3c=W3C_FORMATS + "RDF_XML", dump_order=1)
HTML = Format("html", "HTML", ("text/html", "application/xhtml+xml"), "html")

#: Formats of one graph (entity documents, the dataset description, the ontology), Turtle first:
#: on a tie (``*/*``, no Accept) the first is chosen; browsers ask for text/html by name.
GRAPH_FORMATS: dict[str, Format] = {f.extension: f for f in (TURTLE, JSON_LD, N_TRIPLES, RDF_XML)}
DOCUMENT_FORMATS: dict[str, Format] = {**GRAPH_FORMATS, HTML.extension: HTML}

TRIG = Format("trig", "TriG", ("application/trig",), "trig", oxigraph=ox.RdfFormat.TRIG,
              w3c=W3C_FORMATS + "TriG", dump_order=2)
N_QUADS = Format("nquads", "N-Quads", ("application/n-quads",), "nq", oxigraph=ox.RdfFormat.N_QUADS,
                 w3c=W3C_FORMATS + "N-Quads", dump_order=4)
#: Formats that keep named graphs, for dumps and CONSTRUCT results.
DATASET_FORMATS: dict[str, Format] = {f.extension: f for f in (TRIG, N_QUADS)}
#: The formats of the release's dumps (graph formats, then dataset formats).
DUMP_FORMATS: tuple[Format, ...] = (*GRAPH_FORMATS.values(), *DATASET_FORMATS.values())

#: What an error is written in: plain text unless the client asks for a page or for JSON (any of
#: the JSON flavours it may have asked the endpoint for), in this order of preference.
PLAIN_TEXT = Format("text", "plain text", ("text/plain",), "txt")
JSON = Format("json", "JSON", ("application/json", "application/ld+json", "application/sparql-results+json"),
              "json")
ERROR_FORMATS: tuple[Format, ...] = (PLAIN_TEXT, HTML, JSON)

#: SPARQL SELECT/ASK result formats.
RESULT_FORMATS: dict[str, Format] = {f.extension: f for f in (
    Format("json", "SPARQL JSON", ("application/sparql-results+json", "application/json"), "srj",
           oxigraph=ox.QueryResultsFormat.JSON, results_writer=write_json,
           w3c=W3C_FORMATS + "SPARQL_Results_JSON"),
    Format("xml", "SPARQL XML", ("application/sparql-results+xml", "application/xml", "text/xml"),
           "srx", oxigraph=ox.QueryResultsFormat.XML, results_writer=write_xml,
           w3c=W3C_FORMATS + "SPARQL_Results_XML"),
    Format("csv", "CSV", ("text/csv",), "csv", oxigraph=ox.QueryResultsFormat.CSV, results_writer=write_csv,
           w3c=W3C_FORMATS + "SPARQL_Results_CSV"),
    Format("tsv", "TSV", ("text/tab-separated-values",), "tsv", oxigraph=ox.QueryResultsFormat.TSV,
           results_writer=write_tsv, w3c=W3C_FORMATS + "SPARQL_Results_TSV"),
)}

#: The history of releases (``kazdata.release.series``): the feed of releases, a Memento TimeMap
#: (RFC 7089), a change set as RDF Patch, a change summary as plain JSON.
ATOM = Format("atom", "Atom", ("application/atom+xml",), "atom")
LINK_FORMAT = Format("linkformat", "link-format", ("application/link-format",), "link")
RDF_PATCH = Format("rdfpatch", "RDF Patch", ("application/rdf-patch",), "rdfp")
PLAIN_JSON = Format("json", "JSON", ("application/json",), "json")

GZIP = Format("gzip", "gzip", ("application/gzip",), "gz", text=False)
#: Every file a release or a static site sends, by extension: the documents, the dumps, their
#: gzip copies, the sitemap, the pages' style sheet and script, robots.txt and the icon.
FILE_FORMATS: dict[str, Format] = {f.extension: f for f in (
    *DOCUMENT_FORMATS.values(), *DATASET_FORMATS.values(), GZIP,
    Format("sitemap", "XML", ("application/xml",), "xml"),
    Format("css", "CSS", ("text/css",), "css"),
    Format("javascript", "JavaScript", ("text/javascript",), "js"),
    Format("text", "Plain text", ("text/plain",), "txt"),  # /robots.txt
    Format("icon", "Icon", ("image/vnd.microsoft.icon",), "ico", text=False),  # /favicon.ico
)}


def file_content_type(name: str) -> str:
    """The Content-Type of a file the server sends as it is, by its extension
    (``application/octet-stream`` for one no format owns)."""
    fmt = FILE_FORMATS.get(name.rsplit(".", 1)[-1])
    return fmt.content_type if fmt is not None else "application/octet-stream"


def by_name(name: str, table: dict[str, Format]) -> Format | None:
    """Find a format by extension, short name or media type (the ``format`` request parameter)."""
    key = name.strip().lower()
    for fmt in table.values():
        if key in (fmt.extension, fmt.name, *fmt.media_types):
            return fmt
    return None
