"""Entity documents, stored once per entity in two packs, and the pages of the site.

Layout (docs/decisions/007-documents-at-scale.md): ``docs/documents.nt.gz`` is one gzip member
per entity, its document as sorted N-Triples; ``docs/pages.nt.gz`` likewise holds what its HTML
page reads besides the document (``kazdata.entities.pages.page_lines``). Concatenated gzip members are
one valid gzip file, so ``zcat docs/documents.nt.gz`` is every document as N-Triples.
``docs/entities.tsv`` lists every entity with its label, types and the offset and length of its
two members, sorted by path; ``docs/release.json`` the release's languages, kinds, graphs and places
with coordinates (``kazdata.release.entity_index``). The server renders
Turtle, JSON-LD, RDF/XML and HTML from these on demand (``kazdata.release.document_packs``).

Entities are described in contiguous chunks (``describe_chunk``), jobs for the worker processes
forked after the index is built (they read it without copying it), joined in order: the packs
do not depend on the number of workers.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from kazdata.builder.dumps import write_bytes
from kazdata.builder.void import dataset_iri
from kazdata.entities import pages
from kazdata.entities.description import (
    LABELS_AND_TYPES,
    EntityRef,
    describe,
    list_entities,
)
from kazdata.entities.graph_view import INDEX_ENTRY_PREDICATES, GraphView
from kazdata.entities.triples import TripleIndex, TripleSet, parse_lines, split_line
from kazdata.formats import Style
from kazdata.release.entity_index import write_entity_index
from kazdata.vocabulary import LICENSE

DOCUMENTS = "docs/documents.nt.gz"
PAGES = "docs/pages.nt.gz"
#: gzip level of the pack members: level 6 took 1.7 times as long for 11 % less (measured on
#: 2,270 documents of the 10^6-triple release); the packs are a small part of a release.
PACK_LEVEL = 1
CHUNK = 2000

_job: dict = {}  # what forked workers read: set before the pool starts


def member(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(lines), compresslevel=PACK_LEVEL, mtime=0)


def describe_chunk(refs: list[EntityRef]) -> tuple[list[bytes], list[bytes], list[dict]]:
    index, base, languages = _job["index"], _job["base"], _job["languages"]
    documents, page_members, own_lines = [], [], []
    for ref in refs:
        document = describe(index, ref, base, LICENSE, dataset_iri(base))
        documents.append(member(document))
        page_members.append(member(pages.page_lines(index, ref, base, document)))
        own_lines.append([line for line in index.by_subject.get(f"<{ref.iri(base)}>".encode(), ())
                          if split_line(line)[1] in INDEX_ENTRY_PREDICATES])
    parsed = iter(parse_lines(line for lines in own_lines for line in lines))  # one parse per chunk
    entries = []
    for ref, lines in zip(refs, own_lines):
        own = TripleSet([next(parsed) for _ in lines])
        entries.append(GraphView(own, base, places=[], languages=languages).index_entry(ref))
    return documents, page_members, entries


def start_documents(index: TripleIndex, base: str) -> tuple[list[list[EntityRef]], list[str]]:
    """Prepare the jobs of ``describe_chunk``: return the chunks of entities to describe, in
    index order, and the release's languages. The tables the jobs read are built here, once,
    before the worker processes fork."""
    refs = list_entities(index, base)
    view = GraphView(index, base)
    _job.update(index=index, base=base, languages=view.languages, view=view)
    for predicates in (LABELS_AND_TYPES, pages.PAGE_LABELS):
        index.lines_by_subject(predicates)
    index.lines_by_object(pages.QUOTING)
    return [refs[i:i + CHUNK] for i in range(0, len(refs), CHUNK)], view.languages


def finish_documents(results, total: int, release: Path, base: str, graphs: list[str],
                     progress) -> list[dict]:
    """Join the results of ``describe_chunk`` (an iterable, in chunk order) into the two packs and
    the entity index; return the index entries."""
    view = _job["view"]
    try:
        documents, page_members, entries = _collect(results, total, progress)
    finally:
        _job.clear()
    offsets = {"document": 0, "page": 0}
    for entry, doc, page in zip(entries, documents, page_members):
        entry["document"] = [offsets["document"], len(doc)]
        entry["page"] = [offsets["page"], len(page)]
        offsets["document"] += len(doc)
        offsets["page"] += len(page)
    write_bytes(release / DOCUMENTS, b"".join(documents))
    write_bytes(release / PAGES, b"".join(page_members))
    write_entity_index(release, entries, {"base": base, "languages": view.languages, "graphs": graphs,
                                          "places": view.places})
    return entries


def _collect(results, total: int, progress) -> tuple[list, list, list]:
    documents, page_members, entries = [], [], []
    for documents_part, pages_part, entries_part in results:
        documents += documents_part
        page_members += pages_part
        entries += entries_part
        progress(f"    {len(entries)}/{total} entities")
    return documents, page_members, entries


def write_site_pages(index: TripleIndex, release: Path, base: str, style: Style, entries: list[dict],
                     shapes) -> None:
    """Home, timeline, an index per kind, the ontology and shapes pages, in every language."""
    view = GraphView(index, base)
    renderer = pages.PageRenderer(view, style)
    for language in view.languages:
        site = renderer.site_pages(entries, language)
        site["shapes"] = pages.render_shapes_page(shapes, language)
        for name, html in site.items():
            write_bytes(release / "pages" / f"{name}.{language}.html", html.encode(), gzipped=True)
