"""Entity documents, stored once per entity in two packs, and the pages of the site.

Layout (docs/decisions/007-documents-at-scale.md): ``docs/documents.nt.gz`` is one gzip member
per entity, its document as sorted N-Triples; ``docs/pages.nt.gz`` likewise holds what its HTML
page reads besides the document (``kazdata.entities.pages.page_lines``). Concatenated gzip members are
one valid gzip file, so ``zcat docs/documents.nt.gz`` is every document as N-Triples.
``docs/entities.tsv`` lists every entity with its label, types and the offset and length of its
two members, sorted by path; ``docs/release.json`` the release's languages, kinds, graphs and places
with coordinates (``kazdata.release.entity_index``). The server renders
Turtle, JSON-LD, RDF/XML and HTML from these on demand (``kazdata.release.document_packs``).

Entities are described in contiguous chunks (``describe_chunk``), jobs for the build's worker
processes (``kazdata.builder.jobs``), joined in order: the packs do not depend on the number of
workers.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable

import pyoxigraph as ox

from kazdata.builder.context import BuildContext, WorkerInputs
from kazdata.builder.dumps import write_bytes
from kazdata.builder.release_info import release_version, versioned_iri
from kazdata.entities import pages
from kazdata.entities.description import (
    ALTERNATE_NAME,
    ATTRIBUTION,
    LABELS_AND_TYPES,
    RDFS_LABEL,
    SCHEMA_NAME,
    EntityRef,
    describe,
    list_entities,
    record_links,
)
from kazdata.entities.description_pages import render_shapes_page
from kazdata.entities.graph_view import GraphView, index_entry_predicates
from kazdata.entities.triples import TripleIndex, TripleSet, parse_lines, split_line
from kazdata.release.entity_index import write_entity_index
from kazdata.release.name_index import NAMES, names_of, write_name_index
from kazdata.release.search_index import write_search_index
from kazdata.vocabulary import LICENSE

DOCUMENTS = "docs/documents.nt.gz"
PAGES = "docs/pages.nt.gz"
#: gzip level of the pack members: a higher level costs more time than the size it saves on
#: members this small (decision 007).
PACK_LEVEL = 1
CHUNK = 2000


def member(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(lines), compresslevel=PACK_LEVEL, mtime=0)


def describe_chunk(inputs: WorkerInputs, refs: list[EntityRef]) -> tuple[list[bytes], list[bytes], list[dict]]:
    """The document and page members and the index entries of ``refs`` (a job for a worker)."""
    index, base, languages = inputs.index, inputs.context.base, inputs.languages
    # the versioned dataset (``{base}releases/{version}``, decision 015): a document belongs to one
    # release; a release named by its content address is known only once its dump is written
    info = inputs.context.info
    dataset = versioned_iri(base, info.version) if info.version else inputs.context.vocabulary.dataset
    documents, page_members, own_lines = [], [], []
    wanted = index_entry_predicates(base)
    for ref in refs:
        document = describe(index, ref, base, LICENSE, dataset)
        documents.append(member(document))
        page_members.append(member(pages.page_lines(index, ref, base, document)))
        own_lines.append([line for line in index.by_subject.get(f"<{ref.iri(base)}>".encode(), ())
                          if split_line(line)[1] in wanted])
    parsed = iter(parse_lines(line for lines in own_lines for line in lines))  # one parse per chunk
    entries = []
    for ref, lines in zip(refs, own_lines, strict=True):
        own = TripleSet([next(parsed) for _ in lines])
        entries.append(GraphView(own, base, places=[], languages=languages).index_entry(ref))
    return documents, page_members, entries


def start_documents(context: BuildContext, index: TripleIndex) -> tuple[list[list[EntityRef]], GraphView]:
    """Prepare the jobs of ``describe_chunk``: return the chunks of entities to describe, in
    index order, and the view of the release (its languages and places). The tables the jobs
    read are built here, once, before the worker processes start."""
    refs = list_entities(index, context.base)
    view = GraphView(index, context.base)
    for predicates in (LABELS_AND_TYPES, pages.PAGE_LABELS, ATTRIBUTION):
        index.lines_by_subject(predicates)
    index.lines_by_object(record_links(context.base))
    return [refs[i:i + CHUNK] for i in range(0, len(refs), CHUNK)], view


def finish_documents(context: BuildContext, view: GraphView, results: Iterable[tuple[list, list, list]],
                     total: int, graphs: list[str], progress: Callable[[str], None]) -> list[dict]:
    """Join the results of ``describe_chunk`` (an iterable, in chunk order) into the two packs and
    the entity index; return the index entries."""
    release = context.release
    documents, page_members, entries = _collect(results, total, progress)
    offsets = {"document": 0, "page": 0}
    for entry, doc, page in zip(entries, documents, page_members, strict=True):
        entry["document"] = [offsets["document"], len(doc)]
        entry["page"] = [offsets["page"], len(page)]
        offsets["document"] += len(doc)
        offsets["page"] += len(page)
    write_bytes(release / DOCUMENTS, b"".join(documents))
    write_bytes(release / PAGES, b"".join(page_members))
    write_entity_index(release, entries, {"base": context.base, "languages": view.languages, "graphs": graphs,
                                          "places": view.places, "version": release_version(release, context.info),
                                          "issued": context.info.issued.isoformat()})
    # the 404 pages' close matches, indexed once here rather than in every server process
    write_name_index(release / NAMES, names_of((entry["path"], entry["labels"]["en"]) for entry in entries))
    return entries


def _collect(results, total: int, progress) -> tuple[list, list, list]:
    documents, page_members, entries = [], [], []
    for documents_part, pages_part, entries_part in results:
        documents += documents_part
        page_members += pages_part
        entries += entries_part
        progress(f"    {len(entries)}/{total} entities")
    return documents, page_members, entries


def write_site_pages(context: BuildContext, index: TripleIndex, entries: list[dict],
                     shapes: list[ox.Triple]) -> None:
    """Home, timeline, an index per kind, the ontology and shapes pages, in every language, and
    the search index (``kazdata.release.search_index``)."""
    view = GraphView(index, context.base)
    write_search_index(context.release, [search_row(view, entry) for entry in entries])
    renderer = pages.PageRenderer(view, context.style)
    for language in view.languages:
        site = renderer.site_pages(entries, language)
        site["shapes"] = render_shapes_page(shapes, language)
        for name, html in site.items():
            write_bytes(context.release / "pages" / f"{name}.{language}.html", html.encode(), gzipped=True)


def search_row(view: GraphView, entry: dict) -> dict:
    """An entity's line of the search index: every name it has, in every language."""
    subject = ox.NamedNode(entry["iri"])
    names = {(o.value, o.language or "") for predicate in NAME_PREDICATES
             for o in view.objects(subject, predicate) if isinstance(o, ox.Literal)}
    label = entry["labels"].get("en") or next(iter(entry["labels"].values()))
    return {"path": entry["path"], "kind": entry["kind"], "label": label,
            "names": sorted(names | {(label, "en")})}


NAME_PREDICATES = (RDFS_LABEL.value, SCHEMA_NAME.value, ALTERNATE_NAME.value)
