"""Whole-dataset dumps in every RDF format, gzipped copies, the context, ontology and shapes.

Graph formats hold the union of all sources and the ontology; TriG and N-Quads keep one named
graph per source and one for the ontology. The N-Quads and N-Triples dumps are the sorted,
distinct lines; every other dump is Oxigraph streaming those lines into another syntax, so the
same input gives the same bytes and 10^6 triples never become 10^6 Python objects at once.
Each other format is one job (``write_dump``, with its gzip copy) for the build's worker processes,
started in the formats' ``dump_order``.

JSON-LD: the dump is compact JSON-LD with the release's context (through rdflib) up to
``COMPACT_JSONLD_LIMIT`` triples; past that it is expanded JSON-LD written by Oxigraph, because
rdflib's compaction does not scale to a large dump (decision 007).
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kazdata.builder.context import BuildContext, WorkerInputs
from kazdata.entities.triples import TripleIndex, parse_lines
from kazdata.formats import (
    DATASET_FORMATS,
    DUMP_FORMATS,
    GRAPH_FORMATS,
    JSON_LD,
    N_QUADS,
    N_TRIPLES,
    Format,
    Style,
    prefixes_used_by,
    rdf_bytes,
)
from kazdata.sources import bundled
from kazdata.sources.curated import load_source

DUMP_NAME = "kazdata"
#: Largest union graph whose JSON-LD dump is compacted with the context (see the module docstring).
COMPACT_JSONLD_LIMIT = 25_000
#: gzip level of every gzipped copy: level 9 costs much more time for little (decision 007).
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Dump:
    """One dump as the dataset description lists it: its bytes' size and SHA-256, and its gzip copy's."""

    format: Format
    path: str  # relative to the release
    size: int
    sha256: str
    gzip_size: int
    gzip_sha256: str


def write_bytes(path: Path, data: bytes, *, gzipped: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if gzipped:
        Path(f"{path}.gz").write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def write_graph(triples: list[ox.Triple], target_stem: Path, style: Style, *,
                gzipped: bool = False) -> list[tuple[Format, Path]]:
    """Write ``triples`` once per graph format as ``target_stem.{ext}``."""
    written = []
    for fmt in GRAPH_FORMATS.values():
        target = target_stem.with_name(f"{target_stem.name}.{fmt.extension}")
        write_bytes(target, fmt.serialize(triples, style), gzipped=gzipped)
        written.append((fmt, target))
    return written


def load_shapes(context: BuildContext) -> list[ox.Triple]:
    """The shapes as published (rebased, blank nodes skolemised like a source's)."""
    return [t for path in bundled.shapes_files() for t in load_source(path, context.base).triples]


def union_lines(quad_lines: list[bytes]) -> list[bytes]:
    """Sorted, distinct N-Triples lines of the union of the graphs of sorted N-Quads lines.

    Dropping the graph keeps sorted lines sorted: where two triples differ, their lines differ at
    the same byte with or without a graph after them, and where one triple's line is a prefix of
    another's, a space follows it, which sorts before any byte an N-Triples term goes on with.
    So the copies of a triple in several graphs are neighbours, and no second sort is needed
    (decision 007 has what it saves); the check below keeps this true for any input.
    """
    lines = list(dict.fromkeys(line[:line.rindex(b" <")] + b" .\n" for line in quad_lines))
    if any(earlier >= later for earlier, later in itertools.pairwise(lines)):
        lines.sort()
    return lines


def dump_prefixes(index: TripleIndex, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes the dump uses whose local names read well (no '/'), as for a document."""
    iris = {term[1:-1].decode() for table in (index.by_subject, index.by_predicate, index.by_object)
            for term in table if term[:1] == b"<"} | index.datatypes
    return prefixes_used_by(iris, prefixes)


def write_dump(inputs: WorkerInputs, extension: str) -> tuple[str, str, int, str, int, str]:
    """Write one dump and its gzip copy (a job for a worker: formats do not pickle, extensions do).

    Returns the extension, the dump's path in the release, then the size and SHA-256 of the dump
    and of its gzip copy, hashed here from the bytes just written, in parallel with the others.
    """
    release, style, triples = inputs.context.release, inputs.dump_style, len(inputs.index)
    fmt = {**GRAPH_FORMATS, **DATASET_FORMATS}[extension]
    path = release / "dumps" / f"{DUMP_NAME}.{fmt.extension}"
    if fmt in (N_QUADS, N_TRIPLES):
        data = path.read_bytes()  # written first, by the parent
    else:
        source_format = ox.RdfFormat.N_QUADS if fmt.extension in DATASET_FORMATS else ox.RdfFormat.N_TRIPLES
        source = release / "dumps" / f"{DUMP_NAME}.{'nq' if fmt.extension in DATASET_FORMATS else 'nt'}"
        if fmt is JSON_LD and triples <= COMPACT_JSONLD_LIMIT:
            data = fmt.serialize(parse_lines([source.read_bytes()]), style)
        else:
            prefixes = None if fmt is JSON_LD else style.prefixes
            data = rdf_bytes(ox.parse(path=str(source), format=source_format), fmt.rdf_format, prefixes=prefixes)
        path.write_bytes(data)
    compressed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    Path(f"{path}.gz").write_bytes(compressed)
    return (extension, path.relative_to(release).as_posix(), len(data), hashlib.sha256(data).hexdigest(),
            len(compressed), hashlib.sha256(compressed).hexdigest())


def start_dumps(context: BuildContext, quad_lines: list[bytes],
                index: TripleIndex) -> tuple[list[str], list[bytes], Style]:
    """Write ``kazdata.nq`` and ``kazdata.nt``; prepare the jobs of ``write_dump``.

    ``quad_lines`` are the sorted, distinct N-Quads lines of the release, ``index`` their union.
    Returns the extensions to call ``write_dump`` with, in the formats' ``dump_order``, the
    ontology's N-Triples lines (the caller can then free ``quad_lines``) and the dumps' style.
    """
    dumps_dir = context.release / "dumps"
    dumps_dir.mkdir(parents=True, exist_ok=True)
    (dumps_dir / f"{DUMP_NAME}.nq").write_bytes(b"".join(quad_lines))
    (dumps_dir / f"{DUMP_NAME}.nt").write_bytes(b"".join(index.lines))
    style = Style(prefixes=dump_prefixes(index, context.style.prefixes), context=context.style.context)
    suffix = f" <{context.vocabulary.graph('ontology')}> .\n".encode()
    ontology = [line.rsplit(b" <", 1)[0] + b" .\n" for line in quad_lines if line.endswith(suffix)]
    order = sorted(DUMP_FORMATS, key=lambda fmt: fmt.dump_order or 0)  # each has one (a test checks)
    return [fmt.extension for fmt in order], ontology, style


def finish_dumps(context: BuildContext, written: list[tuple[str, str, int, str, int, str]], shapes: list[ox.Triple],
                 ontology: list[bytes]) -> list[Dump]:
    """Write ``context.jsonld``, ``ontology.*`` and ``shapes.*`` once the dump jobs are done
    (``written``: what they returned); return the dumps, in the order of the formats."""
    by_format = {job[0]: job for job in written}
    dumps = [Dump(fmt, *by_format[fmt.extension][1:]) for fmt in DUMP_FORMATS]
    write_bytes(context.release / "context.jsonld", context_document(context.style.context))
    write_graph(parse_lines(ontology), context.release / "ontology", context.style)
    write_graph(shapes, context.release / "shapes", context.style)
    return dumps


def context_document(context: dict) -> bytes:
    """``context.jsonld``: the release's JSON-LD context as a document of its own."""
    return (json.dumps({"@context": context}, ensure_ascii=False, indent=2) + "\n").encode()


def cpu_workers() -> int:
    """Processes worth starting: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
