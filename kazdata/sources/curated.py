"""Curated sources: one Turtle file per reporting document, each published as its own named graph.

A curator adds a source by adding ``data/sources/NAME.ttl``: the file describes the source
document itself (e.g. a ``schema:NewsArticle``) and every event, claim and quotation taken from
it. ``NAME`` (a slug) becomes the named graph ``{base}graph/NAME``. Sources are written with the
default base ``https://w3id.org/kazdata/``; a release built with another base rewrites it
wherever it appears, in IRIs and in literals (``Vocabulary.rebase``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kazdata.errors import SourceError
from kazdata.formats import rdf_bytes
from kazdata.vocabulary import DEFAULT_BASE, Vocabulary, is_slug


@dataclass(frozen=True)
class Source:
    """One parsed source file: its name, path, named graph and triples (blank nodes skolemised)."""

    name: str
    path: Path
    graph_iri: str
    triples: tuple[ox.Triple, ...]


def discover_sources(directory: Path) -> list[Path]:
    """The source files of a folder, sorted by name so builds are reproducible.

    Raises SourceError when the folder is missing or holds no ``*.ttl`` file: a release of
    nothing is never what was meant (a mistyped ``--sources``, a folder not yet filled).
    """
    if not directory.is_dir():
        raise SourceError(f"sources folder {directory} does not exist")
    found = sorted(directory.glob("*.ttl"))
    if not found:
        raise SourceError(f"sources folder {directory} holds no source file (*.ttl); refusing to build "
                          "or validate nothing")
    return found


def load_source(path: Path, base: str = DEFAULT_BASE, *, check_name: bool = True) -> Source:
    """Parse one Turtle source; raise SourceError naming the file, line and column on bad syntax.

    Blank nodes get IRIs ``{base}.well-known/genid/{name}-{n}`` numbered in document order,
    so two builds of the same file produce the same bytes. ``check_name=False`` lets
    ``kazdata validate`` check any file; the build insists on names fit for a graph IRI.
    """
    name, vocabulary = path.stem, Vocabulary(base)
    if check_name and not is_slug(name):
        raise SourceError(f"{path}: a source file name must be lowercase ASCII letters, digits "
                          f"and hyphens (it becomes the graph IRI), not {name!r}", file=str(path))
    try:
        parsed = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except SyntaxError as error:
        raise SourceError(f"{path}: {error}", file=str(path)) from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror or error}", file=str(path)) from None
    genids: dict[str, ox.NamedNode] = {}

    def map_term(term):
        if isinstance(term, ox.BlankNode):
            if term.value not in genids:
                genids[term.value] = ox.NamedNode(vocabulary.genid(name, len(genids) + 1))
            return genids[term.value]
        if base == DEFAULT_BASE or not isinstance(term, (ox.NamedNode, ox.Literal)):
            return term
        value = vocabulary.rebase(term.value)
        if value == term.value:
            return term
        if isinstance(term, ox.NamedNode):
            return ox.NamedNode(value)
        # an IRI written as a string (vann:preferredNamespaceUri), a SPARQL constraint, a message
        if term.language:
            return ox.Literal(value, language=term.language)
        return ox.Literal(value, datatype=term.datatype)

    triples = tuple(ox.Triple(map_term(q.subject), map_term(q.predicate), map_term(q.object))
                    for q in parsed)
    return Source(name=name, path=path, graph_iri=vocabulary.graph(name), triples=triples)



_BLANK_SUBJECT = re.compile(rb"^_:([^\s\"<>]+) ")
_BLANK_OBJECT = re.compile(rb" _:([^\s\"<>]+) \.$")


def source_nquads(path: Path, base: str = DEFAULT_BASE) -> bytes:
    """``load_source(path, base)`` as N-Quads lines in the source's named graph, in document order.

    The same triples and genid numbering as ``load_source`` (a test holds them equal), but
    Oxigraph parses and serialises in Rust and only lines with a blank node are touched in
    Python, so no term object is made for most triples (decision 007). Another base than the
    default goes through ``load_source``, whose IRI rewriting needs the parsed terms.
    """
    if base != DEFAULT_BASE:
        source = load_source(path, base)
        graph_name = ox.NamedNode(source.graph_iri)
        return rdf_bytes((ox.Quad(t.subject, t.predicate, t.object, graph_name) for t in source.triples),
                         ox.RdfFormat.N_QUADS)
    name, vocabulary = path.stem, Vocabulary(base)
    if not is_slug(name):
        load_source(path, base)  # raises the naming error
    try:
        text = rdf_bytes(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE), ox.RdfFormat.N_TRIPLES)
    except SyntaxError as error:
        raise SourceError(f"{path}: {error}", file=str(path)) from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror or error}", file=str(path)) from None
    graph = f" <{vocabulary.graph(name)}> .\n".encode()
    genids: dict[bytes, bytes] = {}

    def genid(match: re.Match) -> bytes:
        label = match.group(1)
        if label not in genids:
            genids[label] = f"<{vocabulary.genid(name, len(genids) + 1)}>".encode()
        return genids[label]

    if b"_:" not in text:  # no blank node: every " .\n" ends a line (N-Triples escapes newlines)
        return text.replace(b" .\n", graph)
    lines = []
    for line in text.splitlines():
        if b"_:" in line:
            line = _BLANK_SUBJECT.sub(lambda m: genid(m) + b" ", line)
            line = _BLANK_OBJECT.sub(lambda m: b" " + genid(m) + b" .", line)
        lines.append(line[:-2] + graph)
    return b"".join(lines)
