"""A malformed query explained as a person reads it: where (line, column) and what was expected.

Oxigraph's parser reports ``error at 3:18: expected one of ABS, AVG, ..., ['A' ..= 'Z' |
'\\u{00C0}'..='\\u{00D6}' | ...], [_]``: the position is what a query page needs to mark the
editor, but the Unicode ranges of its character classes are noise to anyone reading it. Here the
message keeps its words and tokens, drops the classes for a short phrase ("a name", "a digit"),
says the parser's own verdicts, which it also reports as expectations ("Prefix not found",
"Duplicated variable name in SELECT"), as sentences, and hands back the line and column apart, so the JSON error body carries them as
numbers (``kazdata.web.errors``). The plain-text body stays a plain-text body (the SPARQL
Protocol's error for scripts), with the same readable sentence.

The message crosses from the query process as text, so it is read here, at the edge, rather than
carried as fields through the query processes' protocol (docs/decisions/021-query-page.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

#: Oxigraph's position ("error at LINE:COLUMN:"), columns counted in characters from 1
_POSITION = re.compile(r"\berror at (\d+):(\d+): ")
#: the string check's own position (kazdata.sparql.query_check): a line, no column
_STRING_LINE = re.compile(r"\bthe string that starts on line (\d+)\b")
_EXPECTED = re.compile(r"expected (?:one of )?(.*)\Z", re.S)
_ITEM = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|(\[(?:'(?:[^'\\]|\\.)*'|[^\]'])*\])|([^,]+))\s*(?:,|\Z)""", re.S)
_UNGROUPED = ("a variable in SELECT is neither grouped nor aggregated: with GROUP BY or an aggregate "
              "(COUNT, SUM, ...), each variable selected must be in GROUP BY or inside an aggregate")
#: what the parser reports as an expectation but is a failure of its own, said better; any
#: other expectation with a space in it is a failure too, said in the parser's words
#: ("Duplicated variable name in SELECT", "SELECT * is not authorized with GROUP BY")
_FAILURES = {
    "Prefix not found": "a prefixed name here uses a prefix that is not declared: declare it with "
                        "PREFIX name: <IRI>, or use one of the endpoint's predeclared prefixes",
    "IRI parsing failed": "the IRI here is not valid: an IRI is absolute (or resolves against BASE) "
                          "and holds no spaces, quotes or braces",
    "The SELECT contains a variable that is unbound": _UNGROUPED,
    "The SELECT contains an expression with a variable that is unbound": _UNGROUPED,
}
#: most expected tokens shown; the rest are counted
SHOWN = 12


@dataclass(frozen=True)
class QueryError:
    """A client's error message, with the position it names in the query when it names one."""

    message: str
    line: int | None = None
    column: int | None = None

    def position(self) -> dict[str, int]:
        """The fields an error body adds: ``line`` and ``column`` when known."""
        return {name: value for name, value in (("line", self.line), ("column", self.column))
                if value is not None}


def explain(message: str) -> QueryError:
    """``message`` rewritten for people when it is a syntax error, unchanged otherwise.

    >>> explain('malformed query: error at 1:35: expected one of HAVING, OFFSET, [\\'0\\'..=\\'9\\']')
    QueryError(message='malformed query at line 1, column 35: expected HAVING, OFFSET or a digit', line=1, column=35)
    >>> explain('error at 2:3: expected one of ",", [_]').message
    'at line 2, column 3: expected \u201c,\u201d'
    """
    found = _POSITION.search(message)
    if found is None:
        string = _STRING_LINE.search(message)
        return QueryError(message, int(string.group(1)) if string else None)
    line, column = int(found.group(1)), int(found.group(2))
    where = f"at line {line}, column {column}"
    before = message[:found.start()].rstrip(": ")
    rest = message[found.end():]
    expected = _EXPECTED.match(rest)
    sentence = _expected(expected.group(1)) if expected else rest
    return QueryError(f"{before} {where}: {sentence}" if before else f"{where}: {sentence}", line, column)


def _expected(listed: str) -> str:
    words: list[str] = []
    phrases: list[str] = []
    items = _tokens(listed)
    failures = [word for _, _, word in items if word and (word in _FAILURES or " " in word)]
    if failures:  # the parser's own verdict, not a list of what could come next
        return "; ".join(dict.fromkeys(_FAILURES.get(word) or _sentence(word) for word in failures))
    for token, character_class, word in items:
        if token is not None:
            words.append(f"\u201c{_unescaped(token)}\u201d")  # “,” reads better than ","  or \",\"
        elif word:
            words.append(word)
        elif character_class is not None:
            phrase = _class_phrase(character_class)
            if phrase and phrase not in phrases:
                phrases.append(phrase)
    shown = words[:SHOWN] + ([f"{len(words) - SHOWN} other keywords"] if len(words) > SHOWN else [])
    shown += phrases
    if not shown:
        return "unexpected text here"
    return "expected " + (shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1])


def _sentence(failure: str) -> str:
    """The parser's sentence as the rest of ours: "The SELECT ..." -> "the SELECT ..."."""
    return failure[0].lower() + failure[1:] if failure[1:2].islower() else failure


def _tokens(listed: str) -> list[tuple[str | None, str | None, str | None]]:
    items = []
    for match in _ITEM.finditer(listed):
        if not match.group(0).strip(", \n"):
            continue
        token, character_class, word = match.groups()
        items.append((token, character_class, word.strip() if word else None))
    return items


def _unescaped(token: str) -> str:
    try:
        return str(json.loads(f'"{token}"'))
    except ValueError:
        return token


def _class_phrase(character_class: str) -> str | None:
    """A short phrase for a character class, None for ``[_]`` (the parser's "anything else")."""
    if character_class == "[_]":
        return None
    if "'A'" in character_class or "'a'" in character_class:
        return "a name"
    if "'0'" in character_class:
        return "a digit"
    return "another character"
