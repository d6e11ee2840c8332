"""sources -> validate -> release.

``build_release`` writes a complete release into a fresh folder beside ``out`` and only then
moves it into place, so a failed build (a syntax error, a shape violation) leaves the release
that was there before untouched and still servable.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyoxigraph as ox

from kazdata.builder.documents import (
    describe_chunk,
    finish_documents,
    start_documents,
    write_site_pages,
)
from kazdata.builder.dumps import (
    cpu_workers,
    finish_dumps,
    load_context,
    load_shapes,
    start_dumps,
    union_lines,
    write_dump,
)
from kazdata.builder.jobs import worker_pool
from kazdata.builder.void import summarise_graphs, write_void
from kazdata.entities.description import EntityRef
from kazdata.entities.triples import TripleIndex
from kazdata.errors import ValidationFailed
from kazdata.formats import Style
from kazdata.release.checksums import read_checksums, write_checksums, write_record
from kazdata.sources import bundled
from kazdata.sources.curated import (
    discover_sources,
    graph_iri,
    load_source,
    source_nquads,
)
from kazdata.sparql.backends.embedded import STORE_DIR, load_store, mark_store
from kazdata.validation import validate_sources
from kazdata.vocabulary import DEFAULT_BASE, prefixes_for

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
        started, cpu = time.perf_counter(), _cpu_seconds()
        self.progress(f"  {label} ...")
        result = action()
        self.progress(f"  {label}: done in {time.perf_counter() - started:.2f} s "
                      f"(CPU {_cpu_seconds() - cpu:.1f} s, worker processes included)")
        return result


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: on a shared machine, wall time
    alone does not say whether a step was slow or starved."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _source_nquads(job: tuple[Path, str]) -> bytes:
    return source_nquads(*job)


def load_quads(source_paths: list[Path], base: str, workers: int = 1) -> list[bytes]:
    """Sorted, distinct N-Quads lines: one named graph per source and one for the ontology."""
    jobs = [(path, base) for path in source_paths]
    if workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_source_nquads, jobs, chunksize=1)
    else:
        parts = [source_nquads(path, base) for path, base in jobs]
    ontology = load_source(bundled.ontology_file(), base)
    graph = ox.NamedNode(graph_iri("ontology", base))
    parts.append(ox.serialize((ox.Quad(t.subject, t.predicate, t.object, graph) for t in ontology.triples),
                              format=ox.RdfFormat.N_QUADS))
    lines = set()
    for part in parts:
        lines.update(part.splitlines(keepends=True))
    return sorted(lines)


def build_release(out: Path, *, sources_dir: Path | None = None, base: str = DEFAULT_BASE,
                  progress: Progress = stderr_progress, with_store: bool = False) -> Path:
    """Validate the sources and write a release to ``out``; return ``out``.

    Validation runs in a process of its own beside the other steps (it is one process, they
    share the rest of the cores), and the release is moved into place only once the sources
    conform: at 10^6 triples that overlaps its ~25 s with the ~55 s of writing.

    With ``with_store``, also write the RocksDB store that ``--backend disk`` opens (``store/``,
    after SHA256SUMS: RocksDB files are not byte-reproducible, so they are not listed; the
    store records the digest of the dump it was loaded from instead).

    Raises SourceError for a file that does not parse and ValidationFailed (with every
    violation in ``details['violations']``) for shape violations; ``out`` is unchanged then.
    """
    source_paths = discover_sources(sources_dir or bundled.sources_dir())
    progress(f"building a release from {len(source_paths)} source(s) into {out}")
    with _Validation(source_paths, progress) as validation:
        try:
            return write_release(out, source_paths, base=base, progress=progress, with_store=with_store,
                                 before_each_step=validation.raise_if_failed, before_publish=validation.wait)
        except Exception:
            validation.wait()  # a source that does not parse fails both: report validation's error
            raise


class _Validation:
    """``validate_sources`` in a forked process, and what the build asks of it: whether it has
    already failed (between steps) and its verdict (before the release is published)."""

    def __init__(self, source_paths: list[Path], progress: Progress) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        # a callback the child cannot reach (a test's list) gets the lines when the verdict comes
        live = progress in (stderr_progress, quiet)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        self.future = self.pool.submit(_validate, source_paths, progress if live else None)
        self.report = None

    def __enter__(self) -> "_Validation":
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def raise_if_failed(self) -> None:
        if self.future.done():
            self.wait()

    def wait(self) -> None:
        """Raise SourceError or ValidationFailed if the sources do not conform."""
        if self.report is None:
            report, lines, cpu = self.future.result()
            for line in lines:
                self.progress(line)
            self.progress(f"  validate with SHACL: done in {time.perf_counter() - self.started:.2f} s "
                          f"(CPU {cpu:.1f} s, worker processes included; beside the steps above)")
            for violation in report.violations:
                self.progress(str(violation))
            self.report = report
        if not self.report.conforms:
            count = sum(v.severity == "Violation" for v in self.report.violations)
            raise ValidationFailed(f"{count} shape violation(s); the release was not written",
                                   violations=self.report.violations)


def _validate(source_paths: list[Path], progress: Progress | None):
    """In the validation process: the report, the progress lines kept for the parent, the CPU used."""
    lines: list[str] = []
    cpu = _cpu_seconds()
    report = validate_sources(source_paths, progress=progress or lines.append)
    return report, lines, _cpu_seconds() - cpu


def write_release(out: Path, source_paths: list[Path], *, base: str = DEFAULT_BASE,
                  progress: Progress = stderr_progress, workers: int | None = None,
                  with_store: bool = False, before_each_step: Callable[[], None] | None = None,
                  before_publish: Callable[[], None] | None = None) -> Path:
    """Everything after validation: write the release of ``source_paths`` to ``out``.

    ``build_release`` calls this once the sources conform; ``bench/build.py`` calls it directly
    to time the rest of the build. ``workers`` processes share the CPU-bound steps (default: one
    per CPU); the release does not depend on their number.
    """
    steps = _Steps(progress, before_each_step)
    workers = workers or cpu_workers()
    quads = steps.run("parse sources", lambda: load_quads(source_paths, base, workers))
    index = steps.run("index the union graph", lambda: TripleIndex(union_lines(quads)))
    progress(f"  {len(quads)} quads, {len(index)} distinct triples")
    prefixes = prefixes_for(base)
    style = Style(prefixes=prefixes, context=load_context(base))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    store_dir = staging.with_name(staging.name + ".store")  # outside the release until SHA256SUMS is written
    pool = None
    try:
        shapes = load_shapes(base)
        graphs = summarise_graphs(quads)
        dump_jobs, ontology = start_dumps(quads, index, staging, prefixes, base, graph_iri("ontology", base))
        quads.clear()  # the dumps were the last to need them: free ~0.5 GiB at 10^6 triples before forking
        chunks, languages = start_documents(index, base)
        total = sum(map(len, chunks))

        def run_jobs():
            nonlocal pool
            pool = worker_pool(workers)
            store = pool.apply_async(load_store, (store_dir, staging / "dumps" / "kazdata.nq")) if with_store else None
            dumps = pool.map_async(write_dump, dump_jobs, chunksize=1)
            entries = finish_documents(pool.imap(describe_chunk, chunks), total, staging, base,
                                       [g.iri for g in graphs], progress)
            written = finish_dumps(dumps.get(), staging, prefixes, base, shapes, ontology)
            pool.close()
            if store is None:
                pool.join()  # so that the step's CPU time counts the workers'
            return written, entries, store

        label = "write dumps, entity documents" + (" and the on-disk store" if with_store else "")
        dumps, entries, store = steps.run(label, run_jobs)
        entities = [EntityRef(e["kind"], e["path"].split("/", 1)[1]) for e in entries]
        steps.run("write VoID/DCAT description",
                  lambda: write_void(index, graphs, entities, staging, prefixes, base, dumps, languages))
        steps.run("write site pages", lambda: write_site_pages(index, staging, base, style, entries, shapes))
        steps.run("copy example queries", lambda: copy_example_queries(staging))
        steps.run("write SHA256SUMS", lambda: write_checksums(staging))
        if store is not None:  # its CPU time is counted here, when the workers end
            steps.run("finish the on-disk store", lambda: (store.get(), pool.join()))
            store_dir.rename(staging / STORE_DIR)
            mark_store(staging / STORE_DIR, read_checksums(staging)["dumps/kazdata.nq"])
        if before_publish is not None:
            before_publish()
        _replace(staging, out)
        # the files were hashed for SHA256SUMS just now: a server's quick check then need not hash them
        write_record(out, list(read_checksums(out)))
    except BaseException:
        if pool is not None:
            pool.terminate()
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(store_dir, ignore_errors=True)
        raise
    progress(f"release written to {out}")
    return out


def copy_example_queries(release: Path) -> None:
    """The competency queries become the endpoint's example queries; they ship with the release."""
    target = release / "queries"
    target.mkdir()
    for query in sorted(bundled.queries_dir().glob("*.rq")):
        shutil.copyfile(query, target / query.name)


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
