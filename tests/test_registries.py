"""Each fact about a format lives once, on its ``Format`` entry in ``kazdata.formats``.

A second table keyed by media types or extensions (rdflib's three format maps) drifts from the
first: these tests fail when one appears anywhere else in the package, and check that the
consumers read their facts from the registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kazdata
from kazdata.formats import (
    DUMP_FORMATS,
    FILE_FORMATS,
    RESULT_FORMATS,
    file_content_type,
)

PACKAGE = Path(kazdata.__file__).parent
FORMATS = [*FILE_FORMATS.values(), *RESULT_FORMATS.values()]
#: what a table of format facts is keyed by
FORMAT_KEYS = {media_type for fmt in FORMATS for media_type in fmt.media_types} | {fmt.extension for fmt in FORMATS}
#: Tables still to move, each with the reason it is not done yet. Remove an entry when its table goes.
NOT_YET: dict[str, list] = {}  # tables still to move onto the Format entries (none now)


def format_tables(path: Path) -> list[tuple[int, list[str]]]:
    """``(line, keys)`` of each dict display (or ``dict(...)`` call) in ``path`` with two or more
    keys that name formats (media types or extensions), and of each module-level tuple or list
    of three or more strings that all do (an order of formats, like the dumps' order was)."""
    tables = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {id(statement.value) for statement in tree.body if isinstance(statement, (ast.Assign, ast.AnnAssign))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            keys = [keyword.arg for keyword in node.keywords if keyword.arg]
        elif isinstance(node, (ast.Tuple, ast.List)) and id(node) in constants and len(node.elts) >= 3 and all(
                isinstance(item, ast.Constant) and item.value in FORMAT_KEYS for item in node.elts):
            keys = [item.value for item in node.elts]
        else:
            continue
        named = [key for key in keys if key in FORMAT_KEYS]
        if len(named) >= 2:
            tables.append((node.lineno, named))
    return sorted(tables)


def test_the_test_finds_a_parallel_table(tmp_path):
    module = tmp_path / "module.py"
    module.write_text('W3C = {"text/turtle": "Turtle", "application/n-triples": "N-Triples"}\n'
                      'def f(types):\n    types.update({"gz": "application/gzip", "css": "text/css"})\n'
                      'ORDER = ("ttl", "rdf", "trig")\n')
    assert [line for line, _keys in format_tables(module)] == [1, 3, 4]


@pytest.mark.parametrize("path", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                                        if p.name != "formats.py" or p.parent != PACKAGE))
def test_no_module_but_formats_keys_a_table_by_format(path):
    assert format_tables(PACKAGE / path) == NOT_YET.get(path, []), \
        f"{path}: put these facts on the Format entries in kazdata/formats.py"


def test_every_results_format_writes_its_results_and_has_a_w3c_name():
    for fmt in RESULT_FORMATS.values():
        assert fmt.results_writer is not None and fmt.w3c.startswith("http://www.w3.org/ns/formats/SPARQL_Results_")


def test_every_dump_has_a_place_in_the_order_and_a_w3c_name():
    assert sorted(fmt.dump_order for fmt in DUMP_FORMATS) == list(range(len(DUMP_FORMATS)))
    assert all(fmt.w3c for fmt in DUMP_FORMATS)


def test_file_content_types_come_from_the_formats():
    for extension, fmt in FILE_FORMATS.items():
        assert file_content_type(f"kazdata.{extension}") == fmt.content_type
    assert file_content_type("kazdata.unknown") == "application/octet-stream"
