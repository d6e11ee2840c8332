"""The command line as a curator and an operator use it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kazdata.settings import SETTINGS, settings_table
from kazdata.sources import bundled
from tests.conftest import KAZDATA

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*KAZDATA, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("command", [[], ["build"], ["validate"], ["serve"], ["publish"], ["generate"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: kazdata" in result.stdout


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "README's settings table differs from kazdata.settings.settings_table()"
    for setting in SETTINGS:  # the table is there, and it names every setting
        assert f"| `{setting.flag}` | `{setting.env}` |" in readme, setting.name


def test_validate_passes_the_bundled_data():
    result = run("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 violation(s)" in result.stdout


def test_validate_names_file_node_and_rule_of_a_violation(tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text((FIXTURES / "second-source" / "example-wire-2011-12-20.ttl").read_text()
                      .replace("prov:wasAttributedTo <organization/example-wire> ;", ""))
    result = run("validate", *map(str, bundled.sources_dir().glob("*.ttl")), str(broken))
    assert result.returncode == 1
    assert re.search(rf"{re.escape(str(broken))}:\d+: Violation", result.stdout)
    assert "zhanaozen-shooting-deaths-example-wire" in result.stdout
    assert "wasAttributedTo" in result.stdout


def test_a_syntax_error_names_file_line_and_column(tmp_path):
    result = run("validate", str(FIXTURES / "unparsable" / "broken-syntax.ttl"))
    assert result.returncode == 1
    assert "broken-syntax.ttl" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_package_builds_from_another_directory(tmp_path):
    """The ontology, shapes and sources are found wherever kazdata runs from."""
    result = run("build", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "dumps" / "kazdata.ttl").stat().st_size > 10000


def test_server_py_builds_the_bundled_release_first_and_serves_it(tmp_path):
    """A newcomer's one command: no release yet, so it is built, then served."""
    import time

    import requests

    from tests.conftest import free_port
    release, port = tmp_path / "fresh-release", free_port()
    process = subprocess.Popen([sys.executable, "server.py", "--release", str(release), "--port", str(port),
                                "--workers", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/doc/place/aktau", headers={"Accept": "text/turtle"}, timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # not answering yet: a loaded machine
                time.sleep(0.2)
        else:
            pytest.fail("python server.py did not start: " + process.stdout.read().decode(errors="replace"))
        assert response.status_code == 200 and "Aktau" in response.text
        assert (release / "SHA256SUMS").is_file()
    finally:
        process.terminate()
        process.wait(10)
    said = process.stdout.read().decode(errors="replace")
    assert f"no release at {release}; building one there first from the sources: " in said, said


def test_two_sources_that_clash_are_both_named_with_lines():
    result = run("validate", "data/sources/globalpost-2011-12-19.ttl",
                 str(FIXTURES / "broken" / "clashing-kinds.ttl"))
    assert result.returncode == 1
    first = next(line for line in result.stdout.splitlines() if "DisjointKinds" in line or "different kinds" in line)
    assert "globalpost-2011-12-19.ttl:" in first and "clashing-kinds.ttl:10" in first


def test_generated_data_is_deterministic_valid_and_builds(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert run("generate", "--events", "12", str(first)).returncode == 0
    assert run("generate", "--events", "12", str(second)).returncode == 0
    files = sorted(p.name for p in first.iterdir())
    assert files == ["synthetic-report-0.ttl", "synthetic-world.ttl"]
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in files)
    result = run("build", str(tmp_path / "release"), "--sources", str(first))
    assert result.returncode == 0, result.stderr
    triples = len((tmp_path / "release" / "dumps" / "kazdata.nt").read_text().splitlines())
    ontology = len((tmp_path / "release" / "ontology.nt").read_text().splitlines())
    assert 20 * 12 < triples - ontology < 60 * 12 + 200  # about 30 triples an event, plus the world
