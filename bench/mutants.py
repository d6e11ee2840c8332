"""The mutants of one Python module: small changes a slip of the keyboard could make, one at a time.

Each mutant is found on the module's syntax tree (``ast``) and applied to its text by replacing only
the span of the node it changes, so the rest of the file keeps its bytes and line numbers. What is
mutated: comparison operators (``==``/``!=``, ``<``/``<=``, ``in``/``not in``, ``is``/``is not``),
arithmetic and bitwise operators, ``and``/``or``, a removed ``not``, constants (``True``/``False``,
a number plus one, a string changed), a call statement or a ``raise`` replaced by ``pass``, a
returned value replaced by ``None``, ``break``/``continue``. What is not: docstrings, type
annotations, imports and f-string parts (no behaviour there to test), which mutmut 3 also skips.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

COMPARE_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
    ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
BINARY_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr, ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}


@dataclass(frozen=True)
class Mutant:
    """One change: the byte span of the module's text it replaces and what it puts there."""

    number: int
    line: int
    start: int
    end: int
    replacement: bytes
    what: str

    def apply(self, source: bytes) -> bytes:
        return source[:self.start] + self.replacement + source[self.end:]

    def describe(self, source: bytes) -> str:
        """``line N: what`` and the line before and after the change."""
        mutated = self.apply(source)
        before = source.splitlines()[self.line - 1].decode().strip()
        after = mutated.splitlines()[self.line - 1].decode().strip()
        return f"line {self.line}: {self.what}\n      - {before}\n      + {after}"


def _offsets(source: bytes) -> list[int]:
    """Byte offset of the start of each line (ast columns are UTF-8 byte offsets)."""
    offsets, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


def _skipped(tree: ast.Module) -> set[int]:
    """ids of the nodes not to mutate: docstrings, annotations, f-strings, imports, and all inside them."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            roots.append(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            roots.append(node.returns)
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        if isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        if isinstance(node, (ast.JoinedStr, ast.Import, ast.ImportFrom)):
            roots.append(node)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _changed(node: ast.expr) -> Iterator[tuple[ast.expr, str]]:
    """Each mutated copy of one expression node, with what was changed."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                ops = list(node.ops)
                ops[index] = COMPARE_SWAPS[type(op)]()
                yield ast.Compare(node.left, ops, node.comparators), f"comparison {type(op).__name__} -> {type(ops[index]).__name__}"
    elif isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
        swapped = BINARY_SWAPS[type(node.op)]()
        yield ast.BinOp(node.left, swapped, node.right), f"operator {type(node.op).__name__} -> {type(swapped).__name__}"
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield ast.BoolOp(other, node.values), f"{type(node.op).__name__.lower()} -> {type(other).__name__.lower()}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield node.operand, "not removed"
    elif isinstance(node, ast.Constant):
        yield from _changed_constant(node.value)


def _changed_constant(value: object) -> Iterator[tuple[ast.expr, str]]:
    if isinstance(value, bool):
        yield ast.Constant(not value), f"{value} -> {not value}"
    elif isinstance(value, (int, float)):
        yield ast.Constant(value + 1), f"{value} -> {value + 1}"
    elif isinstance(value, str):
        yield ast.Constant(f"XX{value}XX"), "string changed"
    elif isinstance(value, bytes):
        yield ast.Constant(b"XX" + value + b"XX"), "bytes changed"


def _statement(node: ast.stmt) -> Iterator[tuple[str, str]]:
    """Replacements for a whole statement."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield "pass", "call removed"
    elif isinstance(node, ast.Raise):
        yield "pass", "raise removed"
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return None", "returns None"
    elif isinstance(node, ast.Break):
        yield "continue", "break -> continue"
    elif isinstance(node, ast.Continue):
        yield "break", "continue -> break"


def mutants(source: bytes) -> list[Mutant]:
    """Every mutant of the module ``source``, numbered from 1 in the order of the text."""
    tree = ast.parse(source)
    skipped = _skipped(tree)
    offsets = _offsets(source)
    found: list[tuple[int, int, int, bytes, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped or not hasattr(node, "end_col_offset"):
            continue
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[node.end_lineno - 1] + node.end_col_offset
        if isinstance(node, ast.stmt):
            for text, what in _statement(node):
                found.append((start, node.lineno, end, text.encode(), what))
        elif isinstance(node, ast.expr):
            for changed, what in _changed(node):
                found.append((start, node.lineno, end, f"({ast.unparse(changed)})".encode(), what))
    found.sort(key=lambda item: (item[0], item[2]))
    return [Mutant(number, line, start, end, replacement, what)
            for number, (start, line, end, replacement, what) in enumerate(found, 1)]
