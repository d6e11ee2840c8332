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

import contextlib
import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib.term import Node

from kazdata.sources import bundled
from kazdata.validation import core, lexical, partitions, sparql
from kazdata.validation.report import (
    Finding,
    Result,
    SourceLines,
    ValidationReport,
    Violation,
    locate,
    term_text,
)
from kazdata.validation.shapes import ShapesPlan, plan, read_shapes
from kazdata.validation.sparql import FocusNodes

__all__ = ["ValidationReport", "Violation", "locate", "validate_sources"]

Progress = Callable[[str], None]
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(Result))


def _quiet(_message: str) -> None:
    pass


def _compiled_core(store: ox.Store, shapes_plan: ShapesPlan, focus: FocusNodes, say: Progress,
                   shares: int, fallback: bool = True) -> tuple[list[Finding], list]:
    """The core constraints as SPARQL in Oxigraph (this process's share of them); what does not
    compile is left to pySHACL, or refused if ``fallback`` is False."""
    started = time.perf_counter()
    compiled = core.compile_shapes(shapes_plan, store)
    for shape, reason in compiled.fallback.items():
        if not fallback:
            raise ValueError(f"{shape}: would run in pySHACL ({reason}), and the compiled engine was "
                             "asked to run every shape itself")
        say(f"  core shapes: {shape} runs in pySHACL ({reason})")
    checks = core.share(compiled, 0, shares)
    found = core.run_compiled(store, shapes_plan.shapes, compiled, checks, focus)
    say(f"  core constraints: {len(checks)} of {len(compiled.checks)} SPARQL queries run here "
        f"({time.perf_counter() - started:.1f} s)")
    return found, [s for s in shapes_plan.core_targeted if s in compiled.fallback]


def _pyshacl_core(_store: ox.Store, shapes_plan: ShapesPlan, _focus: FocusNodes, _say: Progress,
                  _shares: int, _fallback: bool = True) -> tuple[list[Finding], list]:
    """Every core shape in pySHACL (the reference the compiled engine is tested against)."""
    return [], list(shapes_plan.core_targeted)


@dataclass(frozen=True)
class Engine:
    """Where the core constraints run: ``run`` returns this process's findings and the shapes it
    leaves to pySHACL; ``shares`` > 1 asks helper processes to run the other shares of the checks."""

    run: Callable[[ox.Store, ShapesPlan, FocusNodes, Progress, int, bool], tuple[list[Finding], list]]
    splits: bool


ENGINES: dict[str, Engine] = {
    "sparql": Engine(_compiled_core, splits=True),
    "pyshacl": Engine(_pyshacl_core, splits=False),
}
# below this many bytes of sources one process is faster than starting a helper that loads them again
SPLIT_FROM_BYTES = 8_000_000
# each process sharing the checks holds the whole union (about 0.7 GB at 10^6 triples)
MAX_SHARES = 2


def validate_sources(paths: Sequence[Path], *, shapes_paths: Sequence[Path] | None = None,
                     ontology_path: Path | None = None, progress: Progress | None = None,
                     workers: int | None = None, engine: str = "sparql", fallback: bool = True) -> ValidationReport:
    """Validate the union of the given Turtle files with the shapes and the ontology.

    Raises SourceError (file, line, column) if a file does not parse. ``progress`` receives a
    line per phase and per validated file. ``engine`` (a key of ENGINES) says where the core
    constraints run: "sparql" compiles them into queries over the union (shapes it cannot
    compile still go to pySHACL), "pyshacl" runs them all in pySHACL. ``workers`` (default: one
    per core) caps pySHACL's worker processes; with one worker or one file it runs in this process.
    ``fallback=False`` makes the compiled engine refuse (ValueError) a shape it would hand to
    pySHACL, so that a test or a benchmark sees what it judges by itself.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; choose one of {', '.join(ENGINES)}")
    say = progress or _quiet
    paths = [Path(p) for p in paths]
    started = time.perf_counter()
    shapes_paths = list(shapes_paths or bundled.shapes_files())
    ontology = ontology_path or bundled.ontology_file()
    shares = _shares(ENGINES[engine], paths, workers)
    with ProcessPoolExecutor(shares - 1, mp_context=multiprocessing.get_context("spawn")) if shares > 1 \
            else contextlib.nullcontext() as helpers:
        # the helpers load the union themselves while this process does (see core.validate_share)
        shared = [helpers.submit(core.validate_share, paths, ontology, shapes_paths, index, shares)
                  for index in range(1, shares)] if helpers else []
        shapes_plan = plan(read_shapes(shapes_paths))
        store = sparql.load_union(paths, ontology)
        say(f"  parsed {len(store)} triples from {len(paths)} file(s) ({time.perf_counter() - started:.1f} s)")
        every_rewritten = lexical.altered([*paths, ontology])
        shown = lexical.shown_as_written(every_rewritten)
        rewritten = lexical.significant(every_rewritten, shapes_plan.effective)
        if rewritten:
            for future in shared:
                future.cancel()
            findings = _as_written(rewritten, paths, ontology, shapes_plan, say, fallback)
            return ValidationReport(_violations(store, findings, paths))
        focus = sparql.focus_nodes(store, shapes_plan)
        findings = _sparql_findings(store, shapes_plan, focus, say)
        core_found, left = ENGINES[engine].run(store, shapes_plan, focus, say, shares, fallback)
        findings += core_found
        for index, future in enumerate(shared, 1):
            findings += future.result()
            say(f"  core constraints: share {index + 1} of {shares} done in a helper process "
                f"({time.perf_counter() - started:.1f} s)")
    if left:
        findings += _pyshacl_findings(store, shapes_plan, left, focus, paths, workers, say)
    report = ValidationReport(_violations(store, findings, paths, shown))
    say(f"  validation: {len(report.violations)} result(s) in {time.perf_counter() - started:.1f} s")
    return report


def _as_written(rewritten: list, paths: list[Path], ontology: Path, shapes_plan: ShapesPlan, say: Progress,
                fallback: bool) -> list[Finding]:
    """Sources with literals Oxigraph would rewrite: every shape in pySHACL on the terms as written."""
    reason = (f"{len(rewritten)} literal(s) Oxigraph would store as another term, first {rewritten[0]}; "
              "every shape runs in pySHACL on the terms as written")
    if not fallback:
        raise ValueError(f"all shapes: would run in pySHACL ({reason})")
    say(f"  validation: {reason}")
    return lexical.validate_as_written(paths, ontology, shapes_plan.effective)


def _shares(engine: Engine, paths: list[Path], workers: int | None) -> int:
    """How many processes share the compiled checks: two for large sources when a core is free.

    A helper loads the union again, which pays only if it runs on an otherwise idle core; under
    load, splitting was slower than one process (decision 008 has the figures).
    """
    cores = workers or os.cpu_count() or 1
    if (not engine.splits or cores < 2 or os.getloadavg()[0] > cores - 1
            or sum(p.stat().st_size for p in paths if p.exists()) < SPLIT_FROM_BYTES):
        return 1
    return min(cores, MAX_SHARES)


def _name(paths: list[Path], index: int) -> str:
    return paths[index].name if 0 <= index < len(paths) else "all sources"


def _sparql_findings(store: ox.Store, shapes_plan: ShapesPlan, focus: Mapping, say: Progress) -> list[Finding]:
    started = time.perf_counter()
    found = sparql.run_constraints(store, shapes_plan, focus)
    say(f"  SPARQL constraints: {len(shapes_plan.sparql_constraints)} run over all sources "
        f"({time.perf_counter() - started:.1f} s)")
    return found


def _pyshacl_findings(store: ox.Store, shapes_plan: ShapesPlan, shapes: list, focus: Mapping, paths: list[Path],
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


def _tasks(store: ox.Store, shapes_plan: ShapesPlan, shapes: list, focus: Mapping, shared: dict,
           files: int) -> dict[int, list[tuple[Node, list]]]:
    """Partition index -> [(shape, its focus nodes owned by that partition)]; -1 is "everything"."""
    whole = files <= 1 or not shapes_plan.values_need_only_types
    homes: dict = {}
    tasks: dict[int, dict[Node, list]] = {}
    for shape in shapes:
        for node in focus.get(shape, ()):
            index = -1 if whole else homes.get(node)
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


def _violations(store: ox.Store, findings: list[Finding], paths: list[Path],
                shown: Mapping[str, str] | None = None) -> list[Violation]:
    """The findings placed in their files, each value as the file writes it (``shown``: the literals
    Oxigraph rewrote, see lexical.shown_as_written)."""
    shown = shown or {}
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
        focus = term_text(finding.focus)
        focus = shown.get(focus, focus)
        shared = {name: getattr(finding, name) for name in _RESULT_FIELDS}
        if finding.value is not None and finding.value in shown:
            shared["value"] = shown[finding.value]
        violations.append(Violation(**shared, focus_node=focus, locations=tuple(locations),
                                    source_file=str(paths[files[0]]) if files else None))
    violations.sort(key=lambda v: (v.source_file or "", v.focus_node, v.source_shape, v.message))
    return violations
