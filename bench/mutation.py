"""How many planted bugs the tests catch: mutmut on the modules where a silent bug hurts users most.

    python bench/mutation.py                      # every module below (slow: hours on 2 cores)
    python bench/mutation.py results negotiation  # some of them, by the names below

For each module, a copy of the repository is made in a temporary folder, mutmut is told (in the
copy's pyproject.toml) to mutate that module and to run the tests that aim at it, and the score
(killed / all mutants) and the surviving mutants are printed. The copy keeps the working tree
untouched, and mutmut's ``mutants/`` folder with it. Scores are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module name -> (file to mutate, tests that aim at it). The tests are those that check it with
#: an independent expected value; the whole suite would catch more, at many times the cost.
MODULES: dict[str, tuple[str, list[str]]] = {
    "results": ("kazdata/sparql/results.py", ["tests/test_every_term.py", "tests/test_independent_expectations.py",
                                              "tests/test_sparql.py"]),
    "negotiation": ("kazdata/web/negotiation.py", ["tests/test_linked_data.py", "tests/test_published_bodies.py"]),
    "policy": ("kazdata/sparql/policy.py", ["tests/test_security.py"]),
    "documents": ("kazdata/entities/description.py", ["tests/test_independent_expectations.py", "tests/test_build.py"]),
    "checksums": ("kazdata/release/checksums.py", ["tests/test_release_opening.py", "tests/test_build.py"]),
    "publish": ("kazdata/release/publish.py", ["tests/test_release_opening.py", "tests/test_releases.py"]),
    "settings": ("kazdata/settings.py", ["tests/test_cli.py"]),
}
IGNORED = shutil.ignore_patterns(".git", "mutants", "__pycache__", ".mypy_cache", ".ruff_cache", "release",
                                 ".hypothesis", "*.egg-info")


def configure(copy: Path, module: str, tests: list[str]) -> None:
    """Add mutmut's section to the copy's pyproject.toml."""
    listed = ", ".join(f'"{test}"' for test in tests)
    section = (f'\n[tool.mutmut]\npaths_to_mutate = ["{module}"]\n'
               f'also_copy = ["tests", "data", "ontology", "shapes", "server.py", "README.md", "docs", "bench"]\n'
               f'pytest_add_cli_args_test_selection = [{listed}]\n'
               'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n')
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + section)


def score(copy: Path) -> tuple[int, int, list[str]]:
    """(killed, total, survivors) from ``mutmut results --all true``."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=copy,
                         capture_output=True, text=True, check=False).stdout
    states = re.findall(r"^\s*(\S+): (\w[\w ]*)$", out, re.MULTILINE)
    total = len(states)
    killed = sum(state == "killed" for _, state in states)
    survivors = [name for name, state in states if state != "killed"]
    return killed, total, survivors


def run(name: str) -> None:
    module, tests = MODULES[name]
    with tempfile.TemporaryDirectory(prefix=f"kazdata-mutation-{name}-") as folder:
        copy = Path(folder) / "repo"
        shutil.copytree(ROOT, copy, ignore=IGNORED)
        configure(copy, module, tests)
        # the tests must import the mutated copy mutmut writes in mutants/, not any installed kazdata
        env = {**os.environ, "PYTHONPATH": str(copy / "mutants")}
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "2"], cwd=copy, env=env,
                       capture_output=True, check=False)
        killed, total, survivors = score(copy)
        seconds = time.monotonic() - started
        share = f"{100 * killed / total:.0f}%" if total else "no mutants"
        print(f"{name} ({module}): {killed}/{total} killed, {share}, {seconds:.0f} s")
        for survivor in survivors:
            print(f"  survived: {survivor}")
            shown = subprocess.run([sys.executable, "-m", "mutmut", "show", survivor], cwd=copy,
                                   capture_output=True, text=True, check=False).stdout
            print("    " + "\n    ".join(line for line in shown.splitlines() if line.startswith(("+", "-"))
                                         and not line.startswith(("+++", "---"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"which modules (default: all): {', '.join(MODULES)}")
    names = parser.parse_args().modules or list(MODULES)
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    for name in names:
        run(name)


if __name__ == "__main__":
    main()
