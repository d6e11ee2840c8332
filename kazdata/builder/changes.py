"""What changed since the previous release: a change set, written by a build with ``--previous``.

Both releases hold each named graph as sorted, distinct N-Triples lines (``graphs/{name}.nt``),
so a change is a difference of two sets of lines, per graph, computed once here and never by
the server. The release gets, under ``changes/``:

- ``{graph}.added.nq`` and ``{graph}.removed.nq``: the triples of each graph that are new, or
  gone, as N-Quads naming the graph (empty graphs are not written);
- ``changes.rdfp``: the same as one RDF Patch (https://afs.github.io/rdf-patch/): a header
  naming the change set and the release it follows, then one transaction of ``D`` (delete)
  rows and ``A`` (add) rows, each an N-Quads statement. Applied to the previous release's
  N-Quads dump it gives this release's graphs (the tests check that);
- ``entities.tsv``: the same, per entity: which entities were added, removed or changed, with
  the triples about each that were added or removed (the statements of an entity are those
  whose subject is its IRI; a claim is an entity of its own), one line per entity sorted by
  path (``path``, a tab, the entry as JSON), so that a server finds one entity's change by a
  binary search over the mapped file (``kazdata.release.entity_index.EntityIndex``), as it finds
  entities, whatever the size of the change;
- ``summary.json``: the counts, per graph and per kind of change, and the two releases: small,
  what ``/releases/`` and the Atom feed read for every release.

The data has no blank nodes (the shapes name every node), so comparing lines compares triples.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from kazdata.builder.context import BuildContext
from kazdata.builder.release_info import release_version, versioned_iri
from kazdata.entities.triples import split_line
from kazdata.errors import SourceError
from kazdata.formats import N_TRIPLES
from kazdata.release.opened import NAMED_GRAPHS, Release

CHANGES = "changes"
PATCH = "changes.rdfp"
SUMMARY = "summary.json"
ENTITY_CHANGES = "entities.tsv"


def _graph_lines(folder: Path, name: str) -> set[bytes]:
    path = folder / NAMED_GRAPHS / f"{name}.{N_TRIPLES.extension}"
    return set(path.read_bytes().splitlines(keepends=True)) if path.is_file() else set()


def _graph_names(folder: Path) -> set[str]:
    return {path.name[:-len(N_TRIPLES.extension) - 1]
            for path in (folder / NAMED_GRAPHS).glob(f"*.{N_TRIPLES.extension}")}


def _quad(line: bytes, graph: str) -> bytes:
    return line[:-3] + f" <{graph}> .\n".encode()


def write_changes(context: BuildContext, entries: list[dict]) -> dict | None:
    """Write ``changes/`` against ``context.info.previous`` (see the module docstring); return the
    summary, or None when the build follows no release.

    Raises SourceError when the previous release has another base: its IRIs would all differ.
    """
    previous = context.info.previous
    if previous is None or previous.directory is None:
        return None
    before = Release(previous.directory, verify="off")
    if before.base != context.base:
        raise SourceError(f"--previous {previous.directory} has the base {before.base}, this release "
                          f"{context.base}: a change set compares releases with the same IRIs")
    folder = context.release / CHANGES
    folder.mkdir()
    graphs: list[dict] = []
    by_entity: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"added": [], "removed": []})
    deletes: list[bytes] = []
    adds: list[bytes] = []
    for name in sorted(_graph_names(previous.directory) | _graph_names(context.release)):
        old, new = _graph_lines(previous.directory, name), _graph_lines(context.release, name)
        iri = context.vocabulary.graph(name)
        for change, lines, rows_of in (("added", sorted(new - old), adds), ("removed", sorted(old - new), deletes)):
            if lines:
                (folder / f"{name}.{change}.nq").write_bytes(b"".join(_quad(line, iri) for line in lines))
            rows_of.extend(_quad(line, iri) for line in lines)
            for line in lines:
                path = _entity_path(split_line(line)[0], context.base)
                if path is not None:
                    by_entity[path][change].append(line.decode().rstrip("\n"))
        graphs.append({"name": name, "iri": iri, "added": len(new - old), "removed": len(old - new)})
    header = (f"H id <{versioned_iri(context.base, _version(context))}/changes> .\n"
              f"H previous <{versioned_iri(context.base, previous.version)}> .\nTX .\n")
    patch = [header.encode(), *(b"D " + row for row in deletes), *(b"A " + row for row in adds), b"TC .\n"]
    (folder / PATCH).write_bytes(b"".join(patch))
    return _write_summaries(context, folder, graphs, _entity_changes(before, entries, by_entity))


def _write_summaries(context: BuildContext, folder: Path, graphs: list[dict], described: list[dict]) -> dict:
    """``entities.tsv`` and ``summary.json`` (module docstring); return the summary."""
    previous = context.info.previous
    assert previous is not None
    (folder / ENTITY_CHANGES).write_bytes(b"".join(sorted(
        e["path"].encode() + b"\t" + json.dumps(e, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        for e in described)))
    summary = {"version": _version(context), "issued": context.info.issued.isoformat(), "previous": previous.version,
               "previous_issued": previous.issued.isoformat(), "graphs": graphs, "entity_count": len(described),
               "counts": {status: sum(e["status"] == status for e in described)
                          for status in ("added", "removed", "changed")},
               "triples": {"added": sum(g["added"] for g in graphs), "removed": sum(g["removed"] for g in graphs)}}
    (folder / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                  encoding="utf-8")
    return summary


def _version(context: BuildContext) -> str:
    return release_version(context.release, context.info)


def _entity_path(subject: bytes, base: str) -> str | None:
    """``kind/slug`` of an entity IRI written ``<{base}id/kind/slug>``; None for any other subject."""
    prefix = f"<{base}id/".encode()
    if not subject.startswith(prefix):
        return None
    path = subject[len(prefix):-1].decode()
    return path if path.count("/") == 1 else None


def _entity_changes(before: Release, entries: list[dict], by_entity: dict) -> list[dict]:
    """The change per entity: added, removed (by the two releases' entity tables) or changed."""
    now = {entry["path"]: entry for entry in entries}
    then = set(before.entities.keys())
    described = []
    for path in sorted(set(by_entity) | (set(now) ^ then)):
        status = "added" if path not in then else "removed" if path not in now else "changed"
        entry = now.get(path) or before.entities.get(path) or {}
        label = (entry.get("labels") or {}).get("en", path)
        described.append({"path": path, "label": label, "status": status,
                          **by_entity.get(path, {"added": [], "removed": []})})
    return described
