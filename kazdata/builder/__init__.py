"""sources -> validate -> release.

``build_release`` writes a complete release into a fresh folder beside ``out`` and only then
moves it into place, so a failed build (a syntax error, a shape violation) leaves the release
that was there before untouched and still servable. The steps share one ``BuildContext``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from kazdata.builder.changes import write_changes
from kazdata.builder.context import BuildContext, WorkerInputs
from kazdata.builder.documents import (
    describe_chunk,
    finish_documents,
    start_documents,
    write_site_pages,
)
from kazdata.builder.dumps import (
    cpu_workers,
    finish_dumps,
    load_shapes,
    start_dumps,
    union_lines,
    write_dump,
)
from kazdata.builder.graphs import write_graph_formats, write_graph_lines
from kazdata.builder.jobs import WorkerPool
from kazdata.builder.release_info import ReleaseInfo, resolve_release_info
from kazdata.builder.replaceable import check_replaceable
from kazdata.builder.validation_process import Validation, cpu_seconds
from kazdata.builder.void import summarise_graphs, write_void
from kazdata.entities.description import EntityRef
from kazdata.entities.triples import TripleIndex
from kazdata.errors import ValidationLost
from kazdata.formats import rdf_bytes
from kazdata.release.checksums import read_checksums, write_checksums, write_record
from kazdata.sources import bundled
from kazdata.sources.curated import discover_sources, load_source, source_nquads
from kazdata.sparql.backends.embedded import STORE_DIR, load_store, mark_store
from kazdata.vocabulary import DEFAULT_BASE

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet(_message: str) -> None:
    """A progress callback that says nothing (tests, library use)."""


class _Steps:
    """Times each build step and reports it, so a slow build says where it spends its time.

    ``before_each`` runs before every step: the build passes the validation's early check, so a
    build whose sources already failed stops at the next step instead of finishing in vain.
    """

    def __init__(self, progress: Progress, before_each: Callable[[], None] | None = None) -> None:
        self.progress = progress
        self.before_each = before_each

    def run(self, label: str, action: Callable[[], object]):
        if self.before_each is not None:
            self.before_each()
        started, cpu = time.perf_counter(), cpu_seconds()
        self.progress(f"  {label} ...")
        result = action()
        self.progress(f"  {label}: done in {time.perf_counter() - started:.2f} s "
                      f"(CPU {cpu_seconds() - cpu:.1f} s, worker processes included)")
        return result


def _source_nquads(context: BuildContext, path: Path) -> bytes:
    return source_nquads(path, context.base)


def load_quads(context: BuildContext) -> list[bytes]:
    """Sorted, distinct N-Quads lines: one named graph per source and one for the ontology."""
    workers = context.workers if len(context.sources) > 1 else 1
    with WorkerPool(workers, context) as pool:
        parts = pool.map_async(_source_nquads, context.sources).get()
    ontology = load_source(bundled.ontology_file(), context.base)
    graph = ox.NamedNode(context.vocabulary.graph("ontology"))
    parts.append(rdf_bytes((ox.Quad(t.subject, t.predicate, t.object, graph) for t in ontology.triples),
                           ox.RdfFormat.N_QUADS))
    lines = set()
    for part in parts:
        lines.update(part.splitlines(keepends=True))
    return sorted(lines)


def build_release(out: Path, *, sources_dir: Path | None = None, base: str = DEFAULT_BASE,
                  progress: Progress = stderr_progress, with_store: bool = False,
                  shapes_paths: list[Path] | None = None, info: ReleaseInfo | None = None) -> Path:
    """Validate the sources and write a release to ``out``; return ``out``.

    ``info``: the release's version and issue date (default: as ``data/dataset.ttl`` states them,
    ``kazdata.builder.release_info``), resolved before anything is written.

    Validation runs in a process of its own beside the other steps (one process; they share
    the rest of the cores), and the release is moved into place only once the sources conform.

    With ``with_store``, also write the RocksDB store that ``--backend disk`` opens (``store/``,
    after SHA256SUMS: RocksDB files are not byte-reproducible, so they are not listed; the
    store records the digest of the dump it was loaded from instead).

    Raises SourceError for a file that does not parse and ValidationFailed (with every
    violation in ``details['violations']``) for shape violations; ``out`` is unchanged then.
    """
    check_replaceable(Path(out))
    info = info or resolve_release_info()
    source_paths = discover_sources(sources_dir or bundled.sources_dir())
    progress(f"building a release from {len(source_paths)} source(s) into {out}")
    live = progress in (stderr_progress, quiet)  # callbacks the validation process can call
    with Validation(source_paths, progress, live=live, shapes_paths=shapes_paths) as validation:
        try:
            return write_release(out, source_paths, base=base, progress=progress, with_store=with_store, info=info,
                                 before_each_step=validation.raise_if_failed, before_publish=validation.wait)
        except Exception as error:
            try:
                validation.wait()  # a source that does not parse fails both: report validation's error
            except ValidationLost as lost:  # the validation process itself failed: keep the build's error
                progress(f"  validation: {lost}")
                raise error from None
            raise


def write_release(out: Path, source_paths: list[Path], *, base: str = DEFAULT_BASE,
                  progress: Progress = stderr_progress, workers: int | None = None,
                  with_store: bool = False, before_each_step: Callable[[], None] | None = None,
                  before_publish: Callable[[], None] | None = None, info: ReleaseInfo | None = None) -> Path:
    """Everything after validation: write the release of ``source_paths`` to ``out``.

    ``build_release`` calls this once the sources conform; ``bench/build.py`` calls it directly
    to time the rest of the build. ``workers`` processes share the CPU-bound steps (default: one
    per CPU); the release does not depend on their number.
    """
    out = Path(out)
    check_replaceable(out)
    info = info or resolve_release_info()  # before anything is written: a missing date changes nothing
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    store_dir = staging.with_name(staging.name + ".store")  # outside the release until SHA256SUMS is written
    context = BuildContext.create(base, staging, source_paths, workers or cpu_workers(), info)
    try:
        _write_files(context, _Steps(progress, before_each_step), store_dir if with_store else None)
        if before_publish is not None:
            before_publish()
        _replace(staging, out)
        # the files were hashed for SHA256SUMS just now: a server's quick check then need not hash them
        write_record(out, list(read_checksums(out)))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(store_dir, ignore_errors=True)
        raise
    progress(f"release written to {out}")
    return out


def _write_files(context: BuildContext, steps: _Steps, store_dir: Path | None) -> None:
    """Every file of the release into ``context.release``; the store into ``store_dir``, if any,
    then moved into the release once SHA256SUMS is written."""
    quads = steps.run("parse sources", lambda: load_quads(context))
    index = steps.run("index the union graph", lambda: TripleIndex(union_lines(quads)))
    steps.progress(f"  {len(quads)} quads, {len(index)} distinct triples")
    shapes = load_shapes(context)
    graphs = summarise_graphs(quads)
    dump_jobs, ontology, dump_style = start_dumps(context, quads, index)
    graph_names = write_graph_lines(context, quads)
    quads.clear()  # the dumps were the last to need them: free them before the workers start
    chunks, view = start_documents(context, index)
    total = sum(map(len, chunks))
    with WorkerPool(context.workers, WorkerInputs(context, index, dump_style, view.languages)) as pool:

        def run_jobs():
            store = pool.apply_async(_load_store, store_dir) if store_dir is not None else None
            dumps = pool.map_async(write_dump, dump_jobs)
            graph_files = pool.map_async(write_graph_formats, graph_names)
            entries = finish_documents(context, view, pool.imap(describe_chunk, chunks), total,
                                       [g.iri for g in graphs], steps.progress)
            written = finish_dumps(context, dumps.get(), shapes, ontology)
            graph_files.get()
            pool.close()
            if store is None:
                pool.join()  # so that the step's CPU time counts the workers'
            return written, entries, store

        label = "write dumps, named graphs, entity documents" + (" and the on-disk store" if store_dir else "")
        dumps, entries, store = steps.run(label, run_jobs)
        entities = [EntityRef(e["kind"], e["path"].split("/", 1)[1]) for e in entries]
        steps.run("write VoID/DCAT description",
                  lambda: write_void(context, index, graphs, entities, dumps, view.languages))
        steps.run("write site pages", lambda: write_site_pages(context, index, entries, shapes))
        steps.run("copy example queries", lambda: copy_example_queries(context))
        if context.info.previous is not None:
            steps.run("write the change set since the previous release", lambda: write_changes(context, entries))
        steps.run("write SHA256SUMS", lambda: write_checksums(context.release))
        if store is not None:  # its CPU time is counted here, when the workers end
            steps.run("finish the on-disk store", lambda: pool.join(store))
    if store_dir is not None:
        store_dir.rename(context.release / STORE_DIR)
        mark_store(context.release / STORE_DIR, read_checksums(context.release)["dumps/kazdata.nq"])


def _load_store(inputs: WorkerInputs, store_dir: Path) -> None:
    load_store(store_dir, inputs.context.release / "dumps" / "kazdata.nq")


def copy_example_queries(context: BuildContext) -> None:
    """The competency queries become the endpoint's example queries; they ship with the release,
    their ``PREFIX`` lines rebased with everything else."""
    target = context.release / "queries"
    target.mkdir()
    for query in sorted(bundled.queries_dir().glob("*.rq")):
        text = query.read_text(encoding="utf-8")
        (target / query.name).write_text(context.vocabulary.rebase(text), encoding="utf-8")


def _replace(staging: Path, out: Path) -> None:
    """Put the staged release at ``out``; the old one is removed only once the new one is there."""
    if out.exists():
        retired = out.with_name(f".{out.name}.retired")
        shutil.rmtree(retired, ignore_errors=True)
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(out)
