"""sources -> validate -> release.

``build_release`` writes a complete release into a fresh folder beside ``out`` and only then
moves it into place, so a failed build (a syntax error, a shape violation) leaves the release
that was there before untouched and still servable.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from kazdata import bundled
from kazdata.build.checksums import write_checksums
from kazdata.build.documents import write_documents
from kazdata.build.dumps import load_shapes, write_dumps
from kazdata.build.void import write_void
from kazdata.errors import ValidationFailed
from kazdata.namespaces import DEFAULT_BASE, prefixes_for
from kazdata.sources import discover_sources, graph_iri, load_source
from kazdata.validation import validate_sources

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet(_message: str) -> None:
    """A progress callback that says nothing (tests, library use)."""


class _Steps:
    """Times each build step and reports it, so a slow build says where it spends its time."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def run(self, label: str, action: Callable[[], object]):
        started = time.perf_counter()
        self.progress(f"  {label} ...")
        result = action()
        self.progress(f"  {label}: done in {time.perf_counter() - started:.2f} s")
        return result


def load_store(source_paths: list[Path], base: str) -> ox.Store:
    """An in-memory store with one named graph per source and one for the ontology."""
    store = ox.Store()
    for path in source_paths:
        source = load_source(path, base)
        graph = ox.NamedNode(source.graph_iri)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in source.triples)
    ontology = load_source(bundled.ontology_file(), base)
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph_iri("ontology", base)))
                 for t in ontology.triples)
    return store


def build_release(out: Path, *, sources_dir: Path | None = None, base: str = DEFAULT_BASE,
                  progress: Progress = stderr_progress, with_store: bool = False) -> Path:
    """Validate the sources and write a release to ``out``; return ``out``.

    With ``with_store``, also write the RocksDB store that ``--backend disk`` opens (``store/``,
    after SHA256SUMS: RocksDB files are not byte-reproducible, so they are not listed; the
    store records the digest of the dump it was loaded from instead).

    Raises SourceError for a file that does not parse and ValidationFailed (with every
    violation in ``details['violations']``) for shape violations; ``out`` is unchanged then.
    """
    steps = _Steps(progress)
    source_paths = discover_sources(sources_dir or bundled.sources_dir())
    progress(f"building a release from {len(source_paths)} source(s) into {out}")
    report = steps.run("validate with SHACL", lambda: validate_sources(source_paths, progress=progress))
    for violation in report.violations:
        progress(str(violation))
    if not report.conforms:
        count = sum(v.severity == "Violation" for v in report.violations)
        raise ValidationFailed(f"{count} shape violation(s); the release was not written",
                               violations=report.violations)
    store = steps.run("load into Oxigraph", lambda: load_store(source_paths, base))
    prefixes = prefixes_for(base)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shapes = load_shapes(base)
        dumps = steps.run("write dumps", lambda: write_dumps(store, staging, prefixes, base, shapes))
        steps.run("write entity documents", lambda: write_documents(store, staging, prefixes, base, shapes,
                                                                      progress))
        steps.run("write VoID/DCAT description",
                  lambda: write_void(store, staging, prefixes, base, dumps))
        steps.run("copy example queries", lambda: copy_example_queries(staging))
        steps.run("write SHA256SUMS", lambda: write_checksums(staging))
        if with_store:
            steps.run("write the on-disk store", lambda: write_release_store(staging))
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"release written to {out}")
    return out


def write_release_store(release: Path) -> None:
    from kazdata.backends.embedded import write_store
    from kazdata.build.checksums import file_digest
    nquads = release / "dumps" / "kazdata.nq"
    write_store(release, nquads, file_digest(nquads))


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
