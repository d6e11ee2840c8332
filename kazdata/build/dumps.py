"""Whole-dataset dumps in every RDF format, gzipped copies, the context, ontology and shapes.

Graph formats hold the union of all sources and the ontology; TriG and N-Quads keep one named
graph per source and one for the ontology. Everything is written from sorted triples, so the
same input gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kazdata import bundled
from kazdata.formats import DATASET_FORMATS, GRAPH_FORMATS, Format, Style
from kazdata.sources import graph_iri, load_source

DUMP_NAME = "kazdata"


@dataclass(frozen=True)
class Dump:
    format: Format
    path: str  # relative to the release
    size: int


def union_triples(store: ox.Store) -> list[ox.Triple]:
    return sorted({quad.triple for quad in store}, key=str)


def load_context(base: str) -> dict:
    """The published JSON-LD context (the inner object), rebased."""
    text = bundled.context_file().read_text(encoding="utf-8")
    return json.loads(text.replace("https://w3id.org/kazdata/", base))["@context"]


def write_bytes(path: Path, data: bytes, *, gzipped: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if gzipped:
        Path(f"{path}.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def write_graph(triples: list[ox.Triple], target_stem: Path, style: Style, *,
                gzipped: bool = False) -> list[tuple[Format, Path]]:
    """Write ``triples`` once per graph format as ``target_stem.{ext}``."""
    written = []
    for fmt in GRAPH_FORMATS.values():
        target = target_stem.with_name(f"{target_stem.name}.{fmt.extension}")
        write_bytes(target, fmt.serializer(triples, style), gzipped=gzipped)
        written.append((fmt, target))
    return written


def _sorted_quads(store: ox.Store) -> list[ox.Quad]:
    return sorted(store, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))


def load_shapes(base: str) -> list[ox.Triple]:
    """The shapes as published (rebased, blank nodes skolemised like a source's)."""
    return [t for path in bundled.shapes_files() for t in load_source(path, base).triples]


def write_dumps(store: ox.Store, release: Path, prefixes: dict[str, str], base: str,
                shapes: list[ox.Triple]) -> list[Dump]:
    """Write ``dumps/``, ``context.jsonld``, ``ontology.*`` and ``shapes.ttl``; return the dumps."""
    context = load_context(base)
    style = Style(prefixes=prefixes, context=context)
    dumps: list[Dump] = []
    for fmt, path in write_graph(union_triples(store), release / "dumps" / DUMP_NAME, style, gzipped=True):
        dumps.append(Dump(fmt, path.relative_to(release).as_posix(), path.stat().st_size))
    quads = _sorted_quads(store)
    for fmt in DATASET_FORMATS.values():
        path = release / "dumps" / f"{DUMP_NAME}.{fmt.extension}"
        data = ox.serialize(quads, format=fmt.oxigraph,
                            prefixes=prefixes if fmt.oxigraph == ox.RdfFormat.TRIG else None)
        write_bytes(path, data, gzipped=True)
        dumps.append(Dump(fmt, path.relative_to(release).as_posix(), len(data)))
    write_bytes(release / "context.jsonld",
                (json.dumps({"@context": context}, ensure_ascii=False, indent=2) + "\n").encode())
    ontology = [q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph_iri("ontology", base)))]
    write_graph(ontology, release / "ontology", style)
    write_graph(shapes, release / "shapes", style)
    return dumps
