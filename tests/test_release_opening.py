"""Opening a release: the entity table searched in place, and the quick and full checks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kazdata.entities.description import list_entities
from kazdata.entities.triples import TripleIndex
from kazdata.errors import ReleaseError
from kazdata.release.checksums import read_checksums, record_path, write_record
from kazdata.release.entity_index import ENTITIES, EntityIndex, write_entity_index
from kazdata.release.opened import Release
from kazdata.release.publish import publish
from kazdata.settings import load_settings
from tests.conftest import KAZDATA


@pytest.fixture
def recorded_copy(release_dir, tmp_path) -> Path:
    """A copy of the release whose bytes were verified (as `kazdata publish` does), so that a
    quick check trusts every file it finds unchanged."""
    copy = tmp_path / "release"
    shutil.copytree(release_dir, copy)
    Release(copy, verify="full")
    assert record_path(copy).is_file()
    return copy


def test_the_table_answers_every_entity_of_the_graph(release_dir):
    release = Release(release_dir)
    lines = (release_dir / "dumps" / "kazdata.nt").read_bytes().splitlines(keepends=True)
    refs = list_entities(TripleIndex(lines), release.base)
    assert len(refs) > 50 and len(release.entities) == len(refs)
    assert list(release.entities) == sorted(ref.path for ref in refs)
    for ref in refs:
        entry = release.entities[ref.path]
        assert (entry["path"], entry["kind"], entry["iri"]) == (ref.path, ref.kind, ref.iri(release.base))
        assert ref.path in release.entities
        for near in (ref.path + "-", ref.path[:-1], ref.path + "\t", ref.path.upper()):
            assert near in {r.path for r in refs} or near not in release.entities
    assert release.kinds == sorted({ref.kind for ref in refs})
    assert list(release.entities.values()) == [release.entities[path] for path in release.entities]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 1000])
def test_a_table_finds_each_key_and_nothing_else(tmp_path, count):
    paths = [f"{kind}/{slug}" for kind, slug in
             ((["event", "place", "person"][i % 3], f"n-{i * 7919 % 1009}-é{i}") for i in range(count))]
    write_entity_index(tmp_path, [{"path": p, "kind": p.split("/")[0], "n": i} for i, p in enumerate(paths)],
                       {"base": "https://example.org/"})
    table = EntityIndex(tmp_path / ENTITIES, count)
    assert list(table) == sorted(paths, key=str.encode)
    for i, path in enumerate(paths):
        assert table[path]["n"] == i
    for absent in ["", "a", "event", "event/", "zzz/zzz", "\U0010ffff", *(p + "x" for p in paths[:50]),
                   *(p[:-1] for p in paths[:50])]:
        assert absent not in table and table.get(absent) is None


def test_an_untouched_release_is_opened_without_hashing(release_dir, recorded_copy):
    assert Release(release_dir, verify="quick").hashed == []  # the build wrote its record
    assert Release(recorded_copy, verify="quick").hashed == []
    assert sorted(Release(recorded_copy, verify="full").hashed) == sorted(read_checksums(recorded_copy))


def test_a_copied_release_is_hashed_once_then_trusted(release_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release_dir, copy)  # new inodes: the build's record does not vouch for them
    assert sorted(Release(copy, verify="quick").hashed) == sorted(read_checksums(copy))
    assert Release(copy, verify="quick").hashed == []


def test_a_truncated_file_is_refused(recorded_copy):
    path = recorded_copy / "dumps" / "kazdata.nt"
    size = path.stat().st_size
    os.truncate(path, size // 2)
    with pytest.raises(ReleaseError) as raised:
        Release(recorded_copy, verify="quick")
    assert raised.value.message == (f"{path} does not match its checksum in SHA256SUMS: the release was "
                                    f"modified after it was built (it is {size // 2} bytes, {size} when it "
                                    "was verified: truncated)")


def test_a_rewritten_file_is_refused_even_with_its_times_restored(recorded_copy):
    path = recorded_copy / "docs" / "documents.nt.gz"
    before = path.stat()
    with path.open("r+b") as handle:  # same size, same inode, one byte changed
        handle.seek(before.st_size // 2)
        byte = handle.read(1)
        handle.seek(before.st_size // 2)
        handle.write(bytes([byte[0] ^ 1]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ReleaseError, match=r"documents\.nt\.gz does not match its checksum in SHA256SUMS"):
        Release(recorded_copy, verify="quick")


def test_a_missing_file_is_refused(recorded_copy):
    (recorded_copy / "dumps" / "kazdata.ttl.gz").unlink()
    with pytest.raises(ReleaseError) as raised:
        Release(recorded_copy, verify="quick")
    assert raised.value.message == f"{recorded_copy / 'dumps' / 'kazdata.ttl.gz'} is listed in SHA256SUMS but missing"


def test_a_record_does_not_vouch_for_other_checksums(recorded_copy):
    """Rewriting SHA256SUMS (to match a tampered file) voids the record: every file is hashed."""
    sums = recorded_copy / "SHA256SUMS"
    sums.write_text(sums.read_text())
    assert sorted(Release(recorded_copy, verify="quick").hashed) == sorted(read_checksums(recorded_copy))


def test_off_does_not_read_the_files(recorded_copy):
    os.truncate(recorded_copy / "dumps" / "kazdata.nt", 10)
    assert Release(recorded_copy, verify="off").hashed == []


def test_publish_renews_the_record(release_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release_dir, copy)
    publish(copy, tmp_path / "current")
    assert Release(tmp_path / "current", verify="quick").hashed == []


def test_the_server_refuses_a_truncated_release_at_start(recorded_copy):
    path = recorded_copy / "void.ttl"
    os.truncate(path, 5)
    result = subprocess.run([*KAZDATA, "serve", "--release", str(recorded_copy), "--port", "1"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert f"{path} does not match its checksum in SHA256SUMS" in result.stderr and "truncated" in result.stderr


def test_a_record_that_cannot_be_written_only_costs_hashing(release_dir, tmp_path):
    write_record(tmp_path / "nowhere", [])  # no such release: nothing written, nothing raised
    assert not record_path(tmp_path / "nowhere").exists()


@pytest.mark.parametrize(("given", "level"), [("true", "quick"), ("false", "off"), ("full", "full"),
                                              ("Quick", "quick"), ("off", "off")])
def test_the_verify_setting(given, level):
    assert load_settings(environ={"KAZDATA_VERIFY": given}).verify == level


def test_an_unknown_verify_setting_is_refused():
    with pytest.raises(ValueError, match="KAZDATA_VERIFY='sometimes': verify must be one of off, quick, full"):
        load_settings(environ={"KAZDATA_VERIFY": "sometimes"})


def test_a_release_of_the_older_layout_is_refused_with_what_to_do(recorded_copy):
    """A release written before docs/release.json and docs/entities.tsv existed names what it
    lacks and the command that writes a current one, instead of failing on a missing file."""
    sums = recorded_copy / "SHA256SUMS"
    kept = [line for line in sums.read_text().splitlines(keepends=True)
            if not line.rstrip().endswith(("docs/release.json", "docs/entities.tsv"))]
    sums.write_text("".join(kept))
    with pytest.raises(ReleaseError) as refused:
        Release(recorded_copy, verify="off")
    message = str(refused.value)
    assert "missing docs/release.json" in message and f"kazdata build {recorded_copy}" in message
