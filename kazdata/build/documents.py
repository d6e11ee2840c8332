"""Precomputed entity documents: every entity in every format, so a dereference is a lookup.

Layout (docs/decisions/003-entity-documents.md): ``docs/{type}/{slug}.{ext}`` plus a ``.gz``
copy of each, and ``docs/index.json`` listing every entity with its label and types (for index
pages, the sitemap and close matches on a 404). HTML pages are rendered here too, one per
language the labels are given in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox

from kazdata import pages
from kazdata.build.dumps import load_context, write_bytes, write_graph
from kazdata.build.void import dataset_iri
from kazdata.entities import describe, list_entities
from kazdata.formats import Style
from kazdata.namespaces import LICENSE



def write_documents(store: ox.Store, release: Path, prefixes: dict[str, str], base: str,
                    shapes: list[ox.Triple], progress) -> list[dict]:
    """Write every entity document and ``docs/index.json``; return the index entries."""
    style = Style(prefixes=prefixes, context=load_context(base))
    view = pages.GraphView(store, base)
    renderer = pages.PageRenderer(view, style)
    refs = list_entities(store, base)
    index = []
    for number, ref in enumerate(refs, 1):
        triples = describe(store, ref, base, LICENSE, dataset_iri(base))
        stem = release / "docs" / ref.kind / ref.slug
        write_graph(triples, stem, style, gzipped=True)
        for language in view.languages:
            html = renderer.entity_page(ref, triples, language)
            write_bytes(stem.with_name(f"{ref.slug}.{language}.html"), html.encode(), gzipped=True)
        index.append(view.index_entry(ref))
        if number % 1000 == 0:
            progress(f"    {number}/{len(refs)} entities")
    write_bytes(release / "docs" / "index.json",
                (json.dumps({"base": base, "languages": view.languages, "entities": index,
                             "graphs": sorted(g.value for g in store.named_graphs())},
                            ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    for language in view.languages:
        site = renderer.site_pages(index, language)
        site["shapes"] = pages.render_shapes_page(shapes, language)
        for name, html in site.items():
            write_bytes(release / "pages" / f"{name}.{language}.html", html.encode(), gzipped=True)
    return index
