"""The package as ``pip install .`` installs it: every module kazdata imports comes with it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import requests
from packaging.requirements import Requirement

from tests.conftest import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def _imported_top_level_modules() -> set[str]:
    found = set()
    for path in (ROOT / "kazdata").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"kazdata"}


def test_every_imported_distribution_is_a_runtime_dependency():
    declared = {Requirement(line).name.lower().replace("_", "-")
                for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    owners = packages_distributions()
    missing = {module: owners.get(module, [module]) for module in _imported_top_level_modules()
               if not {name.lower().replace("_", "-") for name in owners.get(module, [module])} & declared}
    assert not missing, f"imported by kazdata but not in [project] dependencies: {missing}"


def _runtime_closure() -> dict[str, set[str]]:
    """The distributions ``pip install .`` (no extras) brings, with the extras asked of each: the
    ``[project] dependencies`` and, recursively, what each installed one requires (markers
    evaluated for this interpreter and the extras asked), read from the installed metadata."""
    from importlib.metadata import distribution

    from packaging.utils import canonicalize_name
    stack = [(Requirement(line), {""}) for line in tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    found: dict[str, set[str]] = {}
    while stack:
        requirement, extras = stack.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": extra}) for extra in extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in found and set(requirement.extras) <= found[name]:
            continue
        found.setdefault(name, set()).update(requirement.extras)
        stack += [(Requirement(line), {"", *found[name]}) for line in distribution(name).requires or []]
    return found


def _venv_with_the_runtime_dependencies(venv: Path) -> None:
    """A fresh venv holding only what ``pip install .`` would install besides kazdata, linked from
    this interpreter's installed copies: without the network (issue 16), and without the test
    extras, which a venv seeing this interpreter's site-packages would also see."""
    from importlib.metadata import distribution
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    closure = _runtime_closure()
    assert {"rdflib", "pyoxigraph", "flask", "sparqlwrapper", "itsdangerous"} <= set(closure)  # itsdangerous: flask's
    for name in closure:
        files = distribution(name).files
        assert files, f"{name} is installed without a RECORD of its files"
        for file in files:
            if file.parts[0] == "..":  # console scripts and data outside site-packages
                continue
            target = site / file
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(Path(distribution(name).locate_file(file)).resolve())


def test_a_plain_install_loads_into_and_queries_a_remote_store(tmp_path, release_dir):
    """``pip install .`` without extras, in a fresh venv: ``kazdata load`` and ``--backend remote``
    against a real ``oxigraph serve`` (SPARQLWrapper was only in the test extra). Hermetic: the
    wheel is built without build isolation and installed without an index, beside the runtime
    dependencies only (``_venv_with_the_runtime_dependencies``)."""
    oxigraph = shutil.which("oxigraph")
    assert oxigraph, "the `oxigraph` server (PyPI package oxigraph, in the test extra) is not installed"
    wheels = tmp_path / "wheels"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(wheels), str(ROOT)], check=True, env=env, timeout=300)
    venv = tmp_path / "venv"
    _venv_with_the_runtime_dependencies(venv)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                                "--disable-pip-version-check", *map(str, wheels.glob("kazdata-*.whl"))],
                               capture_output=True, text=True, env=env, timeout=600)
    assert installed.returncode == 0, installed.stderr
    checked = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert checked.returncode == 0, checked.stdout  # every requirement of kazdata and its dependencies is there
    kazdata = str(venv / "bin" / "kazdata")
    store_port, port = free_port(), free_port()
    store = subprocess.Popen([oxigraph, "serve", "--location", str(tmp_path / "oxigraph"),
                              "--bind", f"127.0.0.1:{store_port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = None
    try:
        root = f"http://127.0.0.1:{store_port}"
        wait_until_serving(store, root + "/query?query=ASK%7B%7D", "oxigraph serve", 60)
        loaded = subprocess.run([kazdata, "load", str(release_dir), "--endpoint", root + "/store"],
                                capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert loaded.returncode == 0, loaded.stderr
        assert "triples -> <https://w3id.org/kazdata/graph/globalpost-2011-12-19>" in loaded.stdout
        server = subprocess.Popen([kazdata, "serve", "--release", str(release_dir), "--port", str(port),
                                   "--workers", "1", "--backend", "remote", "--endpoint", root + "/query"],
                                  env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until_serving(server, f"http://127.0.0.1:{port}/", "kazdata serve", 60)
        answer = requests.get(f"http://127.0.0.1:{port}/sparql", timeout=30, params={
            "query": "ASK { <https://w3id.org/kazdata/id/place/aktau> ?p ?o }"},
            headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200 and answer.json()["boolean"] is True
    finally:
        for process in (server, store):
            if process is not None:
                process.terminate()
                process.wait(15)
