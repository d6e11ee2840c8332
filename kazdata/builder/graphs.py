"""The named graphs of a release as files of their own, so that each graph's IRI
(``{base}graph/{name}``, a VoID subset of the dataset and what ``GRAPH``, ``FROM`` and the
protocol's graph parameters name) dereferences to the graph, negotiated (decision 011).

``graphs/{name}.nt`` is cut from the sorted N-Quads lines the dumps are written from, streamed to
one file per graph (dropping the graph keeps each graph's lines sorted and distinct, as in
``union_lines``); every other graph format is then one job per graph for the build's worker
pool, written like the dumps: compact JSON-LD up to ``COMPACT_JSONLD_LIMIT`` triples, Oxigraph's
writer past it.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import BinaryIO

import pyoxigraph as ox

from kazdata.builder.context import BuildContext, WorkerInputs
from kazdata.builder.dumps import COMPACT_JSONLD_LIMIT
from kazdata.entities.triples import parse_lines
from kazdata.formats import GRAPH_FORMATS, JSON_LD, N_TRIPLES, rdf_bytes
from kazdata.release.opened import NAMED_GRAPHS


def write_graph_lines(context: BuildContext, quad_lines: list[bytes]) -> list[str]:
    """Write ``graphs/{name}.nt`` for every named graph under the base; return the names."""
    prefix = context.vocabulary.graph("").encode()
    folder = context.release / NAMED_GRAPHS
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as files:
        opened: dict[bytes, BinaryIO] = {}
        for line in quad_lines:
            rest, graph = line[:-3].rsplit(b" <", 1)
            name = graph[:-1][len(prefix):] if graph.startswith(prefix) else b""
            if not name or b"/" in name:
                continue  # not one of ours: nothing to serve it at
            out = opened.get(name)
            if out is None:
                out = opened[name] = files.enter_context(
                    open(folder / f"{name.decode()}.{N_TRIPLES.extension}", "wb"))
            out.write(rest + b" .\n")
        return sorted(name.decode() for name in opened)


def write_graph_formats(inputs: WorkerInputs, name: str) -> str:
    """Write ``graphs/{name}`` in every graph format but N-Triples (a job for a worker)."""
    folder = inputs.context.release / NAMED_GRAPHS
    source = folder / f"{name}.{N_TRIPLES.extension}"
    data = source.read_bytes()
    triples = data.count(b"\n")
    for fmt in GRAPH_FORMATS.values():
        if fmt is N_TRIPLES:
            continue
        if fmt is JSON_LD and triples <= COMPACT_JSONLD_LIMIT:
            body = fmt.serialize(parse_lines([data]), inputs.dump_style)
        else:
            prefixes = None if fmt is JSON_LD else inputs.dump_style.prefixes
            body = rdf_bytes(ox.parse(data, format=ox.RdfFormat.N_TRIPLES), fmt.rdf_format, prefixes=prefixes)
        (folder / f"{name}.{fmt.extension}").write_bytes(body)
    return name
