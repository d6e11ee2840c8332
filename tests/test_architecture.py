"""The shape of the package, held by tests: where Flask may be imported, how long modules and
functions may grow (docs/decisions/009-the-folder-tree-is-the-pipeline.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kazdata"
MODULES = sorted(PACKAGE.rglob("*.py"))
WEB = PACKAGE / "web"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_web_package_imports_flask_or_werkzeug(module):
    if WEB in module.parents:
        return
    roots = _imported_roots(ast.parse(module.read_text(encoding="utf-8")))
    assert not roots & {"flask", "werkzeug"}, f"{module.relative_to(PACKAGE)} imports {roots & {'flask', 'werkzeug'}}"


def test_the_ast_check_sees_an_import_inside_a_function():
    """The check above must catch the lazy imports this package uses everywhere."""
    tree = ast.parse("def f():\n    from werkzeug.http import parse_date\n    import flask.json\n")
    assert _imported_roots(tree) == {"werkzeug", "flask"}


def _private_names_imported(tree: ast.AST) -> set[str]:
    """``module.name`` for each ``from module import _name`` of another package than kazdata."""
    return {f"{node.module}.{alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
            and node.module.split(".")[0] not in ("kazdata", "__future__")
            for alias in node.names if alias.name.startswith("_")}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_of_a_library_is_imported(module):
    """A library's private names (Werkzeug's ``_RangeWrapper`` was one) change or go without
    notice in any release; kazdata uses the public API or code of its own."""
    private = _private_names_imported(ast.parse(module.read_text(encoding="utf-8")))
    assert not private, f"{module.relative_to(PACKAGE)} imports private names: {sorted(private)}"


def test_the_private_name_check_sees_one_among_public_names():
    tree = ast.parse("from werkzeug.wsgi import FileWrapper, _RangeWrapper\nfrom kazdata.x import _own\n")
    assert _private_names_imported(tree) == {"werkzeug.wsgi._RangeWrapper"}


@pytest.mark.parametrize("module", ["kazdata.export.static_site", "kazdata.builder", "kazdata.runtime.serve",
                                    "kazdata.cli"])
def test_importing_a_package_outside_the_web_loads_no_flask(module):
    code = f"import sys, {module}; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=PACKAGE.parent, check=True)
    assert result.stdout.strip() == "False", f"importing {module} loads Flask"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_short(module):
    text = module.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.relative_to(PACKAGE)} has {lines} lines: split it by concept"
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{module.relative_to(PACKAGE)}: functions over {MAX_FUNCTION_LINES} lines: {long}"
