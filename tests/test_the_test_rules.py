"""The rules the suite keeps about itself: a missing system package fails in CI instead of
skipping, a parametrize over nothing fails at collection instead of passing silently, and an
assertion in a thread fails its test instead of being printed and forgotten."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import conftest


def test_a_missing_debian_package_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install no-such-package"):
        conftest.require_debian_package("no-such-package", "no-such-executable-kazdata")
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="apt-get install no-such-package"):
        conftest.require_debian_package("no-such-package", "no-such-executable-kazdata")
    assert conftest.require_debian_package("coreutils", "ls").endswith("ls")


def test_an_empty_parameter_set_fails_the_run(tmp_path):
    (tmp_path / "test_empty.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('x', [])\ndef test_nothing(x):\n    assert x\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(conftest.ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode != 0 and "Empty parameter set" in done.stdout + done.stderr, done.stdout


def test_an_assertion_in_a_thread_fails_the_test(tmp_path):
    # the generated test's thread fails on purpose: the rule under test is that pytest (by
    # pyproject's filterwarnings) reports it as a failure of that test, not as a warning
    (tmp_path / "test_thread.py").write_text(
        "import threading\n\n"
        "def fail_here():\n    raise AssertionError('seen in the thread')\n\n"
        "def test_in_a_thread():\n"
        "    thread = threading.Thread(target=fail_here)\n"
        "    thread.start()\n    thread.join()\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(conftest.ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "1 failed" in done.stdout and "seen in the thread" in done.stdout, done.stdout


def test_servers_and_commands_are_this_interpreters_kazdata():
    assert conftest.KAZDATA == [sys.executable, "-m", "kazdata"]
    done = subprocess.run([*conftest.KAZDATA, "--help"], capture_output=True, text=True, timeout=60, cwd=conftest.ROOT)
    assert done.returncode == 0 and "usage: kazdata" in done.stdout


#: what ``subprocess`` runs a command with
_RUNNERS = {"run", "Popen", "call", "check_call", "check_output"}
#: first words of a command that would be whatever is first on ``PATH``, not this interpreter's kazdata
_FROM_PATH = {"kazdata", "python", "python3"}


def _commands_from_path(path) -> list[str]:
    """``file:line`` of each ``subprocess`` call in ``path`` whose command is a list starting with a
    name looked up on ``PATH`` (``["kazdata", ...]``, ``["python", ...]``)."""
    import ast
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _RUNNERS
                and node.args and isinstance(node.args[0], ast.List) and node.args[0].elts):
            continue
        first = node.args[0].elts[0]
        if isinstance(first, ast.Constant) and first.value in _FROM_PATH:
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_test_runs_a_kazdata_or_python_found_on_path():
    """Issue 16: a test runs ``conftest.KAZDATA`` (``sys.executable -m kazdata``), never the
    ``kazdata`` or ``python`` first on ``PATH``, which may be another installation's."""
    files = sorted((conftest.ROOT / "tests").glob("*.py"))
    assert len(files) > 40
    assert [where for path in files for where in _commands_from_path(path)] == []


def test_the_path_rule_sees_a_command_from_path(tmp_path):
    """The rule above can fail: it finds each form a test could write."""
    sample = tmp_path / "test_sample.py"
    sample.write_text("import subprocess\nsubprocess.run(['kazdata', 'build'])\n"
                      "subprocess.Popen(['python', '-m', 'kazdata'])\nsubprocess.run([sys.executable, '-m', 'kazdata'])\n",
                      encoding="utf-8")
    assert _commands_from_path(sample) == ["test_sample.py:2", "test_sample.py:3"]


def test_ci_run_says_it_is_ci_before_running_the_readmes_command():
    """``.ci/run`` exports ``CI=true`` itself (a missing browser, nginx or Apache then fails the run
    on any runner), before the line that runs the tests."""
    lines = (conftest.ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    exported = [number for number, line in enumerate(lines) if line.strip() == "export CI=true"]
    tested = [number for number, line in enumerate(lines) if "python -m pytest" in line and not line.startswith("#")]
    assert exported and tested and exported[0] < tested[0], (exported, tested)


def _draws(tmp_path, name: str, environ: dict[str, str]) -> tuple[str, str]:
    """(the report header's hypothesis line, the integers a hypothesis test drew) of one pytest run
    of a throw-away test file with the suite's conftest as a plugin."""
    import os
    drawn = tmp_path / f"{name}.txt"
    (tmp_path / f"test_{name}.py").write_text(
        "import os\nfrom hypothesis import given, settings, strategies as st\n\n"
        "@settings(max_examples=20)\n@given(st.integers())\n"
        "def test_draw(n):\n    open(os.environ['DRAWN'], 'a').write(f'{n}\\n')\n", encoding="utf-8")
    outside = {key: value for key, value in os.environ.items() if key not in ("CI", "KAZDATA_HYPOTHESIS_SEED")}
    environ = {**outside, "PYTHONPATH": str(conftest.ROOT), "DRAWN": str(drawn), **environ}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "-c", str(conftest.ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                           str(tmp_path / f"test_{name}.py")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environ)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next(line for line in done.stdout.splitlines() if line.startswith("hypothesis: profile"))
    return header, drawn.read_text(encoding="utf-8")


def test_hypothesis_in_ci_replays_the_kept_examples_read_only_and_draws_from_a_fixed_seed(tmp_path):
    """In CI two runs draw the same examples from the seed the header shows, and the example
    database in the repository is not written; outside CI the draws are random."""
    kept = sorted(conftest.HYPOTHESIS_EXAMPLES.rglob("*"))
    first_header, first = _draws(tmp_path, "ci_first", {"CI": "true"})
    second_header, second = _draws(tmp_path, "ci_second", {"CI": "true"})
    assert first_header == second_header == ("hypothesis: profile kazdata-ci, seed 20111216, "
                                             "examples kept in tests/hypothesis-examples")
    assert first == second and len(first.splitlines()) >= 10
    assert sorted(conftest.HYPOTHESIS_EXAMPLES.rglob("*")) == kept  # nothing written in CI
    other_header, other = _draws(tmp_path, "ci_other_seed", {"CI": "true", "KAZDATA_HYPOTHESIS_SEED": "7"})
    assert "seed 7," in other_header and other != first
    local_header, local = _draws(tmp_path, "local", {})
    assert local_header.startswith("hypothesis: profile kazdata-dev, seed random") and local != first
