"""The command line as an operator uses it day to day: it never destroys what it was not given,
refuses nothing-to-do, and says which sources it reads (issue 14, the command line)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kazdata.sources import bundled
from tests.conftest import KAZDATA

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*KAZDATA, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_build_refuses_to_replace_a_folder_that_is_not_a_release(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis-draft.txt").write_text("three years of work")
    result = run("build", str(notes))
    assert result.returncode != 0
    assert "thesis-draft.txt" in result.stderr and "not a kazdata release" in result.stderr
    assert "Traceback" not in result.stderr
    assert (notes / "thesis-draft.txt").read_text() == "three years of work"
    assert sorted(p.name for p in notes.iterdir()) == ["thesis-draft.txt"]


def test_build_refuses_to_replace_a_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    result = run("build", str(target))
    assert result.returncode != 0
    assert f"{target} is a file" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "keep me"


def test_build_fills_an_empty_folder_and_replaces_a_release(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    first = run("build", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / "SHA256SUMS").is_file()
    (out / "left-by-the-old-release").write_text("x")  # a release is replaced whole
    second = run("build", str(out))
    assert second.returncode == 0, second.stderr
    assert not (out / "left-by-the-old-release").exists() and (out / "SHA256SUMS").is_file()


def test_an_empty_sources_folder_is_refused(tmp_path):
    empty = tmp_path / "sources"
    empty.mkdir()
    for command in (["build", str(tmp_path / "out"), "--sources", str(empty)], ["validate", "--sources", str(empty)]):
        result = run(*command)
        assert result.returncode != 0, command
        assert f"sources folder {empty} holds no source file" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_validate_and_build_say_which_sources_folder_they_read_and_follow_the_checkout(tmp_path):
    """README's "Adding a source": a file added to data/sources in the folder the curator works
    in is the one validated, whatever copy of kazdata is installed."""
    checkout = tmp_path / "checkout"
    sources = checkout / "data" / "sources"
    shutil.copytree(bundled.sources_dir(), sources)
    added = sources / "example-wire-2011-12-20.ttl"
    added.write_text((FIXTURES / "second-source" / "example-wire-2011-12-20.ttl").read_text()
                     .replace("prov:wasAttributedTo <organization/example-wire> ;", ""))
    result = run("validate", cwd=checkout)
    assert f"kazdata: sources: {sources} (the current folder's data/sources)" in result.stderr
    assert result.returncode == 1 and f"{added}:" in result.stdout
    elsewhere = run("validate", cwd=tmp_path)
    assert f"kazdata: sources: {bundled.sources_dir()} (installed with kazdata" in elsewhere.stderr
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    build = run("build", str(tmp_path / "rel"), cwd=checkout)
    assert build.returncode != 0 and f"kazdata: sources: {sources} (" in build.stderr
    assert not (tmp_path / "rel").exists()


def test_each_violation_is_printed_once_with_every_rule_that_failed(tmp_path):
    """A start date with a time fails StartDateShape's sh:or and its sh:pattern: one thing to fix."""
    source = tmp_path / "globalpost-2011-12-19.ttl"
    text = (bundled.sources_dir() / "globalpost-2011-12-19.ttl").read_text()
    first = 'schema:startDate "2011-12-16"^^xsd:date ;'
    assert first in text
    source.write_text(text.replace(first, 'schema:startDate "2011-12-16T10:00:00"^^xsd:dateTime ;', 1))
    result = run("validate", str(source))
    assert result.returncode == 1
    assert result.stdout.count("node:  https://w3id.org/kazdata/id/event/mangystau-clashes-2011-12-16-17") == 1
    assert "1 violation(s)" in result.stdout
    rule = next(line for line in result.stdout.splitlines() if "StartDateShape" in line)
    assert "OrConstraintComponent" in rule and "PatternConstraintComponent" in rule
    build = run("build", str(tmp_path / "rel"), "--sources", str(tmp_path))
    assert build.returncode != 0
    assert build.stderr.count("node:  https://w3id.org/kazdata/id/event/mangystau-clashes-2011-12-16-17") == 1
