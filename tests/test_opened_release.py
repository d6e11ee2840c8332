"""The release as the server reads it (``kazdata.release.opened``), in process and in milliseconds.

Each answer of ``Release`` is checked against the release's own files read without it: bytes
and digests with ``hashlib``, JSON with ``json``, the ontology with rdflib, the quads by counting
the N-Quads dump's lines. Written for the mutants ``bench/mutation.py opened`` found alive; the
tests that change a release work on a copy of it (a release is never modified in place).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import rdflib

from kazdata.entities.description import EntityRef
from kazdata.errors import NotFound, ReleaseError
from kazdata.release import opened
from kazdata.release.opened import OpenedRelease, Release, open_release, release_stamp

OWL_VERSION_IRI = rdflib.URIRef("http://www.w3.org/2002/07/owl#versionIRI")
#: what a release must hold, as the README's release layout names it
REQUIRED = ["dumps/kazdata.nq", "void.ttl", "docs/release.json", "docs/entities.tsv", "docs/documents.nt.gz",
            "docs/pages.nt.gz", "context.jsonld", "ontology.ttl"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def release(release_dir) -> Release:
    return Release(release_dir)


@pytest.fixture
def copy(release_dir, tmp_path) -> Path:
    """A copy of the test release that a test may change."""
    return Path(shutil.copytree(release_dir, tmp_path / "release"))


def _list(folder: Path, *names: str) -> None:
    """Add ``names`` (files already written in ``folder``) to its SHA256SUMS."""
    with (folder / "SHA256SUMS").open("a", encoding="utf-8") as sums:
        for name in names:
            sums.write(f"{_sha256((folder / name).read_bytes())}  {name}\n")


def _first_entity(release_dir: Path) -> str:
    """The path (``kind/slug``) on the first line of the entity table, read as plain text."""
    return (release_dir / "docs" / "entities.tsv").read_text(encoding="utf-8").split("\t", 1)[0]


def test_a_listed_file_is_sent_with_hashlibs_digest_and_its_prefix_as_etag(release, release_dir):
    data = (release_dir / "void.ttl").read_bytes()
    sent = release.file("void.ttl")
    assert (sent.path, sent.relative, sent.digest) == (release_dir.resolve() / "void.ttl", "void.ttl", _sha256(data))
    assert sent.etag == _sha256(data)[:32] and release.read("void.ttl") == data and release.has("void.ttl")
    assert {sent, release.file("void.ttl")} == {sent}  # a value: hashable, equal by content
    with pytest.raises(dataclasses.FrozenInstanceError):
        sent.digest = "0" * 64  # type: ignore[misc]


def test_an_entity_document_is_rendered_and_sent_with_the_digest_of_its_bytes(release, release_dir):
    path = _first_entity(release_dir)
    kind, slug = path.split("/")
    info = json.loads((release_dir / "docs" / "release.json").read_bytes())
    data = release.read(f"docs/{path}.ttl")
    sent = release.file(f"docs/{path}.ttl")
    assert sent.path is None and sent.relative == f"docs/{path}.ttl" and sent.digest == _sha256(data)
    graph = rdflib.Graph().parse(data=data, format="turtle")
    assert (rdflib.URIRef(f"{info['base']}id/{path}"), None, None) in graph
    assert release.has(f"docs/{path}.ttl")
    assert release.entity_file(EntityRef(kind, slug), "ttl").relative == f"docs/{path}.ttl"
    language = info["languages"][0]
    page = release.entity_file(EntityRef(kind, slug), "html", language)
    assert page.relative == f"docs/{path}.{language}.html" and page.path is None
    assert release.read(page.relative).lower().startswith(b"<!doctype html>")
    line = next(line for line in (release_dir / "docs" / "entities.tsv").read_text(encoding="utf-8").splitlines()
                if line.startswith(f"{path}\t"))
    assert release.entity(kind, slug) == json.loads(line.split("\t", 1)[1])


@pytest.mark.parametrize("relative", ["nothing.txt", "docs/place/no-such-place.ttl", "../SHA256SUMS",
                                      "docs/release.json.gz"])
def test_what_the_release_lacks_is_not_found(release, relative):
    assert not release.has(relative)
    with pytest.raises(NotFound, match="no such file in this release"):
        release.file(relative)
    with pytest.raises(NotFound, match="no such file in this release"):
        release.read(relative)


def test_an_unknown_entity_is_not_found(release):
    with pytest.raises(NotFound, match="there is no entity place/no-such-place"):
        release.entity("place", "no-such-place")


def test_listed_files_are_read_from_disk_once_within_the_memory_budget(copy, monkeypatch):
    """A file is kept in memory while the files kept so far and it fit in ``CACHE_BYTES``
    (bounds included); past that it is read from disk on each request. Seen by changing the
    files behind the release's back, which a served release never does."""
    void, context = (copy / "void.ttl").read_bytes(), (copy / "context.jsonld").read_bytes()
    monkeypatch.setattr(opened, "CACHE_BYTES", len(void) + len(context))
    release = Release(copy)
    assert release.read("void.ttl") == void and release.read("context.jsonld") == context  # exactly fills it
    (copy / "void.ttl").write_bytes(b"changed")
    (copy / "context.jsonld").write_bytes(b"changed")
    assert release.read("void.ttl") == void and release.read("context.jsonld") == context
    ontology = (copy / "ontology.ttl").read_bytes()
    assert release.read("ontology.ttl") == ontology
    (copy / "ontology.ttl").write_bytes(b"changed")
    assert release.read("ontology.ttl") == b"changed"  # past the budget: read again


def test_the_files_a_release_serves_are_kept_in_memory_by_default(copy):
    """The default budget holds the small files (the description, the ontology, the dumps of the
    bundled data), which are then read from disk once."""
    names = ["void.ttl", "ontology.ttl", "dumps/kazdata.nq"]
    before = {name: (copy / name).read_bytes() for name in names}
    release = Release(copy)
    assert {name: release.read(name) for name in names} == before
    for name in names:
        (copy / name).write_bytes(b"changed")
    assert {name: release.read(name) for name in names} == before


def test_a_file_with_a_gzip_copy_is_sent_gzipped_only_to_clients_that_take_gzip(release, release_dir):
    listed = {line.split("  ", 1)[1] for line in (release_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines()}
    assert "dumps/kazdata.nq.gz" in listed and "void.ttl.gz" not in listed
    dump = release.file("dumps/kazdata.nq")
    gzipped, encoding = release.variant(dump, True)
    assert encoding == "gzip" and gzipped.relative == "dumps/kazdata.nq.gz"
    assert gzipped.digest == _sha256((release_dir / "dumps" / "kazdata.nq.gz").read_bytes())
    assert release.variant(dump, False) == (dump, None)
    void = release.file("void.ttl")
    assert release.variant(void, True) == (void, None)


def test_a_folder_without_sha256sums_is_not_a_release(tmp_path):
    with pytest.raises(ReleaseError, match="is not a kazdata release: it has no SHA256SUMS"):
        Release(tmp_path)
    (tmp_path / "SHA256SUMS").mkdir()  # a folder of that name is not the file
    with pytest.raises(ReleaseError, match="is not a kazdata release"):
        Release(tmp_path)


@pytest.mark.parametrize("lacking", REQUIRED)
def test_a_release_lacking_a_required_file_is_refused_naming_it(tmp_path, lacking):
    (tmp_path / "SHA256SUMS").write_text("".join(f"{'0' * 64}  {name}\n" for name in REQUIRED if name != lacking),
                                         encoding="utf-8")
    with pytest.raises(ReleaseError, match=f"is incomplete: missing {lacking} "):
        Release(tmp_path)


def test_a_release_is_opened_without_hashing_unless_asked(copy):
    with (copy / "void.ttl").open("ab") as void:
        void.write(b"# tampered\n")
    assert Release(copy).hashed == []
    with pytest.raises(ReleaseError, match="void.ttl"):
        Release(copy, verify="full")


def test_the_example_queries_are_the_listed_rq_files_with_the_question_of_their_first_line(copy):
    queries = copy / "queries"
    files = sorted(queries.glob("*.rq"))
    assert files, "the test release has no example queries"
    (queries / "zz-bare.rq").write_text("#Who was there?\nASK {}\n", encoding="utf-8")
    (queries / "zz-no-comment.rq").write_text("ASK {}\n", encoding="utf-8")
    (queries / "zz-empty.rq").write_text("", encoding="utf-8")
    (queries / "zz-notes.txt").write_text("# not a query\n", encoding="utf-8")
    (copy / "elsewhere.rq").write_text("# not an example\nASK {}\n", encoding="utf-8")
    _list(copy, "queries/zz-bare.rq", "queries/zz-no-comment.rq", "queries/zz-empty.rq", "queries/zz-notes.txt",
          "elsewhere.rq")
    examples = Release(copy).examples
    expected = [{"name": path.stem, "question": path.read_text(encoding="utf-8").split("\n", 1)[0].lstrip("#").strip(),
                 "query": path.read_text(encoding="utf-8")} for path in files]
    assert examples[:len(files)] == expected
    assert examples[len(files):] == [
        {"name": "zz-bare", "question": "Who was there?", "query": "#Who was there?\nASK {}\n"},
        {"name": "zz-empty", "question": "queries/zz-empty.rq", "query": ""},
        {"name": "zz-no-comment", "question": "queries/zz-no-comment.rq", "query": "ASK {}\n"}]


def test_a_release_without_a_stated_version_is_named_by_its_dumps_content_address(copy, release_dir):
    info = json.loads((copy / "docs" / "release.json").read_bytes())
    stated = Release(release_dir)
    assert (stated.version, stated.issued) == (info["version"], info["issued"])
    del info["version"], info["issued"]
    (copy / "docs" / "release.json").write_text(json.dumps(info), encoding="utf-8")
    unstated = Release(copy)
    assert unstated.version == _sha256((copy / "dumps" / "kazdata.nq").read_bytes())[:12]
    assert unstated.issued is None


def test_the_dumps_checksums_are_hashlibs_with_names_relative_to_the_dumps_folder(release, release_dir):
    dumps = sorted((release_dir / "dumps").iterdir())
    assert len(dumps) >= 6
    assert release.dump_checksums == "".join(f"{_sha256(path.read_bytes())}  {path.name}\n" for path in dumps)


def test_sha256sums_is_sent_with_its_own_digest(release, release_dir):
    sums = release.checksums_file
    assert (sums.path, sums.relative) == (release_dir.resolve() / "SHA256SUMS", "SHA256SUMS")
    assert sums.digest == _sha256((release_dir / "SHA256SUMS").read_bytes())


def test_the_ontology_versions_are_its_owl_version_iris_as_rdflib_reads_them(release, release_dir):
    graph = rdflib.Graph().parse(release_dir / "ontology.ttl", format="turtle")
    expected = {str(iri) for iri in graph.objects(None, OWL_VERSION_IRI)}
    assert expected and release.ontology_versions == expected


def test_the_context_is_the_object_inside_the_published_context(release, release_dir):
    assert release.context == json.loads((release_dir / "context.jsonld").read_bytes())["@context"]
    assert release.context  # not an empty object


def test_the_store_holds_every_quad_of_the_dump(release, release_dir):
    lines = [line for line in (release_dir / "dumps" / "kazdata.nq").read_bytes().splitlines() if line.strip()]
    store = release.load_store()
    assert len(store) == len(lines) > 0
    assert {str(graph) for graph in store.named_graphs()} == {
        line.rsplit(b" ", 2)[1].decode() for line in lines}


def test_a_named_graph_is_served_from_the_graphs_folder(client, release_dir):
    """``/graph/NAME.nt`` sends ``graphs/NAME.nt`` of the release, byte for byte."""
    files = {path.stem for path in (release_dir / "graphs").glob("*.nt")}
    assert files, "the test release has no named graph files"
    for stem in sorted(files):
        response = client.get(f"/graph/{stem}.nt")
        assert response.status_code == 200, stem
        assert response.data == (release_dir / "graphs" / f"{stem}.nt").read_bytes()


def test_a_release_is_stamped_by_its_real_path_and_its_sha256sums(copy, tmp_path):
    link = tmp_path / "current"
    link.symlink_to(copy)
    stat = os.stat(copy / "SHA256SUMS")
    assert release_stamp(link) == release_stamp(copy) == (os.path.realpath(copy), stat.st_ino, stat.st_mtime_ns)
    os.utime(copy / "SHA256SUMS", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert release_stamp(link) != (os.path.realpath(copy), stat.st_ino, stat.st_mtime_ns)


def test_a_serving_process_reuses_the_release_opened_at_its_stamp_and_opens_any_other(copy, release_dir, tmp_path):
    link = tmp_path / "current"
    link.symlink_to(copy)
    first = OpenedRelease.open(link, "off")
    assert first.stamp == release_stamp(copy) and first.release.directory == copy.resolve()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.stamp = ()  # type: ignore[misc]
    assert open_release(first.stamp, "off", first) is first.release
    other = open_release(release_stamp(release_dir), "off", first)
    assert other is not first.release and other.directory == release_dir.resolve()
    fresh = open_release(first.stamp, "off", None)
    assert fresh is not first.release and fresh.directory == copy.resolve()
