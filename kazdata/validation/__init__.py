"""Validate curated sources against the SHACL shapes, reporting each violation with its file.

The sources are validated together, because rules such as "a total is not smaller than the sum
of its parts" or "one kind of thing per IRI" cross sources; each violation names every file that
describes its focus node, with the line. To stay fast at 10^6 triples the work is split
(docs/decisions/008-validation-at-scale.md):

- the union of all sources and the ontology is loaded once into Oxigraph, which computes every
  shape's focus nodes and runs each SPARQL-based constraint once, over the whole graph
  (:mod:`kazdata.validation.sparql`);
- the core constraints run in pySHACL, one source file per task, in worker processes (one per
  core), each on a plain rdflib graph of the nodes that file owns plus the types of the nodes
  they link to (:mod:`kazdata.validation.partitions`).

Both halves read everything from the shapes file (:mod:`kazdata.validation.shapes`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kazdata import bundled
from kazdata.validation import core, partitions, sparql
from kazdata.validation.report import (
    Finding,
    Result,
    SourceLines,
    ValidationReport,
    Violation,
    locate,
    term_text,
)
from kazdata.validation.shapes import ShapesPlan, plan

__all__ = ["ValidationReport", "Violation", "locate", "validate_sources"]

Progress = Callable[[str], None]
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(Result))


def _shapes_graph(paths: Sequence[Path]) -> Graph:
    shapes = Graph()
    for path in paths:
        shapes.parse(path, format="turtle")
    return shapes


def _quiet(_message: str) -> None:
    pass


def _compiled_core(store: ox.Store, shapes_plan: ShapesPlan, focus: dict, say: Progress) -> tuple[list[Finding], list]:
    """The core constraints as SPARQL in Oxigraph; what does not compile is left to pySHACL."""
    started = time.perf_counter()
    compiled = core.compile_shapes(shapes_plan, store)
    for shape, reason in compiled.fallback.items():
        say(f"  core shapes: {shape} runs in pySHACL ({reason})")
    core.mark_focus(store, compiled, focus)  # after the sh:sparql rules, which must not see it
    try:
        found = core.run_checks(store, shapes_plan.shapes, compiled.checks)
    finally:
        core.unmark_focus(store)
    say(f"  core constraints: {len(compiled.checks)} SPARQL queries over all sources "
        f"({time.perf_counter() - started:.1f} s)")
    return found, [s for s in shapes_plan.core_targeted if s in compiled.fallback]


def _pyshacl_core(_store: ox.Store, shapes_plan: ShapesPlan, _focus: dict, _say: Progress) -> tuple[list[Finding], list]:
    """Every core shape in pySHACL (the reference the compiled engine is tested against)."""
    return [], list(shapes_plan.core_targeted)


# engine name -> what it runs in the main process, returning its findings and the shapes left to pySHACL
ENGINES: dict[str, Callable[[ox.Store, ShapesPlan, dict, Progress], tuple[list[Finding], list]]] = {
    "sparql": _compiled_core,
    "pyshacl": _pyshacl_core,
}


def validate_sources(paths: Sequence[Path], *, shapes_paths: Sequence[Path] | None = None,
                     ontology_path: Path | None = None, progress: Progress | None = None,
                     workers: int | None = None, engine: str = "sparql") -> ValidationReport:
    """Validate the union of the given Turtle files with the shapes and the ontology.

    Raises SourceError (file, line, column) if a file does not parse. ``progress`` receives a
    line per phase and per validated file. ``engine`` (a key of ENGINES) says where the core
    constraints run: "sparql" compiles them into queries over the union (shapes it cannot
    compile still go to pySHACL), "pyshacl" runs them all in pySHACL. ``workers`` (default: one
    per core) caps pySHACL's worker processes; with one worker or one file it runs in this process.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; choose one of {', '.join(ENGINES)}")
    say = progress or _quiet
    paths = [Path(p) for p in paths]
    started = time.perf_counter()
    shapes_plan = plan(_shapes_graph(shapes_paths or bundled.shapes_files()))
    store = sparql.load_union(paths, ontology_path or bundled.ontology_file())
    say(f"  parsed {len(store)} triples from {len(paths)} file(s) ({time.perf_counter() - started:.1f} s)")
    focus = sparql.focus_nodes(store, shapes_plan)

    findings = _sparql_findings(store, shapes_plan, focus, say)
    core_found, left = ENGINES[engine](store, shapes_plan, focus, say)
    findings += core_found
    if left:
        findings += _pyshacl_findings(store, shapes_plan, left, focus, paths, workers, say)
    report = ValidationReport(_violations(store, findings, paths))
    say(f"  validation: {len(report.violations)} result(s) in {time.perf_counter() - started:.1f} s")
    return report


def _name(paths: list[Path], index: int) -> str:
    return paths[index].name if 0 <= index < len(paths) else "all sources"


def _sparql_findings(store: ox.Store, shapes_plan: ShapesPlan, focus: dict, say: Progress) -> list[Finding]:
    started = time.perf_counter()
    found = sparql.run_constraints(store, shapes_plan, focus)
    say(f"  SPARQL constraints: {len(shapes_plan.sparql_constraints)} run over all sources "
        f"({time.perf_counter() - started:.1f} s)")
    return found


def _pyshacl_findings(store: ox.Store, shapes_plan: ShapesPlan, shapes: list, focus: dict, paths: list[Path],
                      workers: int | None, say: Progress) -> list[Finding]:
    """The core constraints of ``shapes`` in pySHACL, one partition (source file) per task."""
    shared = sparql.owners(store)
    tasks = _tasks(store, shapes_plan, shapes, focus, shared, len(paths))
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    findings: list[Finding] = []
    if workers > 1:
        context = multiprocessing.get_context("spawn")  # small, clean children, counted in RUSAGE_CHILDREN
        core_triples = list(shapes_plan.core_shapes)
        with context.Pool(workers, initializer=partitions.start_worker, initargs=(core_triples,)) as pool:
            results = pool.imap_unordered(partitions.validate_in_worker, _payloads(store, tasks, shared, paths))
            for done, (index, found) in enumerate(results, 1):
                findings += found
                say(f"  core shapes: {done}/{len(tasks)} file(s) validated in pySHACL ({_name(paths, index)})")
    else:
        for done, (index, data, targets) in enumerate(_payloads(store, tasks, shared, paths), 1):
            findings += partitions.validate_partition(shapes_plan.core_shapes, data, targets)
            say(f"  core shapes: {done}/{len(tasks)} file(s) validated in pySHACL ({_name(paths, index)})")
    return findings


def _tasks(store: ox.Store, shapes_plan: ShapesPlan, shapes: list, focus: dict, shared: dict,
           files: int) -> dict[int, list[tuple[object, list]]]:
    """Partition index -> [(shape, its focus nodes owned by that partition)]; -1 is "everything"."""
    whole = files <= 1 or not shapes_plan.values_need_only_types
    homes: dict = {}
    tasks: dict[int, dict[object, list]] = {}
    for shape in shapes:
        for node in focus.get(shape, ()):
            if whole:
                index = -1
            else:
                index = homes.get(node)
                if index is None:
                    index = homes[node] = sparql.home(store, node, shared)
            tasks.setdefault(index, {}).setdefault(shape, []).append(node)
    # the largest first, so that the last task to finish is a small one
    order = sorted(tasks, key=lambda index: (-sum(map(len, tasks[index].values())), index))
    return {index: sorted(tasks[index].items(), key=lambda item: str(item[0])) for index in order}


def _payloads(store: ox.Store, tasks: dict, shared: dict, paths: list[Path]) -> Iterator[tuple]:
    """Each task with its data, produced lazily so that only a few are in memory at once."""
    for index, targets in tasks.items():
        data = sparql.whole_data(store) if index < 0 else sparql.partition_data(store, [index], shared)
        yield index, data, targets


def _violations(store: ox.Store, findings: list[Finding], paths: list[Path]) -> list[Violation]:
    lines: dict[int, SourceLines] = {}
    violations = []
    for finding in findings:
        files = sparql.describing_sources(store, finding.focus)
        locations = []
        for index in files:
            line = None
            if isinstance(finding.focus, ox.NamedNode):
                line = lines.setdefault(index, SourceLines(paths[index])).line_of(finding.focus.value)
            locations.append(f"{paths[index]}:{line or '?'}")
        focus = term_text(finding.focus) if not isinstance(finding.focus, ox.Literal) else finding.focus.value
        shared = {name: getattr(finding, name) for name in _RESULT_FIELDS}
        violations.append(Violation(**shared, focus_node=focus, locations=tuple(locations),
                                    source_file=str(paths[files[0]]) if files else None))
    violations.sort(key=lambda v: (v.source_file or "", v.focus_node, v.source_shape, v.message))
    return violations
