"""What a query may do, decided on its parse (rdflib's SPARQL parser), not on regular expressions.

Regular expressions over the text disagreed with the SPARQL grammar (a comment ended by a bare
CR, escapes in prefixed names, IRIs holding U+00A0 or U+2028), and pyoxigraph ran what the check
had not seen (issue 15). Here the query is parsed by rdflib and its parse tree walked for
``SERVICE`` and ``FROM``/``FROM NAMED`` with prefixed names and ``BASE`` resolved as the grammar
says; an update is recognised by rdflib's update parser. The parse is linear but slow (tens of
microseconds a byte), so it runs where the query is evaluated, under the time limit (a query
process under ``kazdata serve``), not in a web worker, except with ``--backend remote`` or
``--query-processes 0`` where there is no query process (docs/decisions/004).

Where rdflib cannot read a query that Oxigraph may (RDF 1.2 triple terms, or a grammar corner the
two parsers read differently), the query runs only if it cannot hold what the check looks for:
the letters of ``SERVICE`` or ``FROM`` appear nowhere in its code (outside its strings, IRIs and
comments), read with and without ``\\u`` escapes resolved. Otherwise it is refused. Query processes have no network besides (``kazdata.runtime.isolation``),
so a disagreement the check misses still fetches nothing.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyparsing import ParseBaseException, ParseResults
from rdflib.plugins.sparql.algebra import translatePName, translatePrologue
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

from kazdata.errors import BadRequest, Forbidden

#: Deepest nesting of ``(``, ``{`` and ``[`` a query may have. pyoxigraph's parser recurses per
#: level and overflows its stack (SIGSEGV) somewhere past a few thousand; no hand-written query
#: comes near 64 (README, "Security").
MAX_NESTING = 64
#: rdflib's parser recurses about 25 Python frames per nesting level and 10 per triple pattern;
#: it runs in a thread whose stack holds that many (a deeper query gets a 400, not a crash).
PARSE_RECURSION = 60_000
PARSE_STACK_BYTES = 256 * 2**20

_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# Each of these is tried once at a position and the scan moves past what it matched, so the
# scan is linear in the query; an unterminated string ends it (the query is malformed anyway).
# possessive (*+): a failed attempt gives up at once instead of backtracking through what it read
_STRING = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*+"""|' r"'''(?:[^'\\]|\\.|'(?!''))*+'''|"
                     r'"(?:[^"\\\n\r]|\\.)*+"|' r"'(?:[^'\\\n\r]|\\.)*+'", re.S)
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*+>")
_COMMENT = re.compile(r"#[^\r\n]*+")
_INTERESTING = re.compile(r"[(){}\[\]\"'#<\\]")
_OPEN, _CLOSE = "({[", ")}]"
#: one parse at a time in a process (threads of the in-process app, or of a web worker with a
#: remote store): the parse holds the GIL anyway, so this costs no concurrency
_PARSING = threading.Lock()
_WATCHED = ("service", "from")
#: ``QueryRules.check`` keeps at most this many verdicts, on texts up to this long: 4 MB at most
CACHED_QUERIES = 1024
CACHED_QUERY_CHARACTERS = 4096
#: A query whose code (outside strings, IRIs and comments; case-folded; read with and without
#: escapes resolved) holds none of these words can hold no SERVICE, no FROM and no update:
#: Oxigraph's keywords are ASCII, matched case-insensitively. It needs no parse, which keeps cheap
#: queries cheap (the parse costs milliseconds even for a short query, 250 ms for a 1.7 kB one).
#: Words in comments matter: 9 of the 25 example queries were parsed for a "with" or "address"
#: in their comments.
_NEEDS_PARSE = (*_WATCHED, "insert", "delete", "load", "clear", "drop", "create", "add", "move", "copy", "with")


@dataclass(frozen=True)
class CheckedQuery:
    """What evaluating needs to know of a query that passed the check."""

    uses_from: bool  # it names its own dataset: FROM / FROM NAMED


def resolve_escapes(text: str) -> str:
    """The query with ``\\u``/``\\U`` escapes resolved: SPARQL 1.1 resolves them before parsing,
    anywhere in the query (section 19.2), so SERV\\u0049CE is SERVICE. (Oxigraph 0.5 reads them
    only in strings and IRIs; the check takes the reading that finds more.)

    Raises BadRequest for an escape that names no character (past U+10FFFF, or a surrogate).
    """
    def character(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise BadRequest(f"{match.group(0)} is not a Unicode character: an escape must name a code "
                             "point up to U+10FFFF outside the surrogates D800-DFFF")
        return chr(code)
    return _CODEPOINT.sub(character, text)


def nesting_depth(text: str) -> int:
    """The deepest nesting of brackets outside strings, IRIs and comments, in one linear pass."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[int, int | None, str]:
    """(deepest nesting, where an unterminated string starts or None, the text with every string,
    IRI and comment blanked out), in one linear pass. A backslash outside them escapes the next
    character (a prefixed name's ``\\#`` or ``\\'``), which then opens nothing: read as a comment
    or a string, it would hide the code after it. After an unterminated string the rest is code."""
    depth = deepest = 0
    position = 0
    code: list[str] = []
    kept = 0  # where the code not yet copied to ``code`` starts
    while (found := _INTERESTING.search(text, position)) is not None:
        position = found.start()
        char = text[position]
        if char in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char == "\\":
            position += 1
        else:
            pattern = {"#": _COMMENT, "<": _IRI}.get(char, _STRING)
            skipped = pattern.match(text, position)
            if skipped is None and pattern is _STRING:
                # outside IRIs and comments, a quote only opens a string
                return deepest, position, "".join(code) + text[kept:]
            if skipped is not None:
                code.append(text[kept:position] + " ")
                kept = skipped.end()
                position = skipped.end() - 1
        position += 1
    return deepest, None, "".join(code) + text[kept:]


def check_query(text: str, allowlist: Iterable[str], prefixes: dict[str, str]) -> CheckedQuery:
    """Refuse what may not run: an update (Forbidden), ``SERVICE`` to an IRI not on ``allowlist``
    (Forbidden), nesting
    deeper than ``MAX_NESTING`` (BadRequest), and a query rdflib cannot read that may hold
    ``SERVICE`` or ``FROM`` (BadRequest). ``prefixes`` are the ones the server declares."""
    resolved = resolve_escapes(text)
    depth, unterminated, code = _scan(text)
    # Oxigraph reads \u escapes only inside strings and IRIs, SPARQL 1.1 anywhere: bound both
    # readings, and look for the watched words in the code of both
    if resolved != text:
        resolved_depth, _unterminated, resolved_code = _scan(resolved)
        depth, code = max(depth, resolved_depth), code + " " + resolved_code
    if depth > MAX_NESTING:
        raise BadRequest(f"the query nests brackets {depth} deep; this endpoint accepts at most "
                         f"{MAX_NESTING} levels")
    if unterminated is not None:
        line = text.count("\n", 0, unterminated) + 1
        raise BadRequest(f"malformed query: the string that starts on line {line} "
                         f"({text[unterminated:unterminated + 12]!r}...) never ends")
    # a keyword is code: a word in a comment ("within"), a string or an IRI asks for no parse
    folded = code.casefold()
    if not any(word in folded for word in _NEEDS_PARSE):
        return CheckedQuery(uses_from=False)
    # a bare CR ends a comment in SPARQL, not in rdflib: as a line end it means the same to both
    parsed = _parse(resolved.replace("\r", "\n"))
    if parsed is None:
        watched = [word for word in _WATCHED if word in folded]
        if watched:
            raise BadRequest("malformed query, or one whose " + " and ".join(w.upper() for w in watched)
                             + " this endpoint cannot check: it runs only queries SPARQL 1.1's grammar "
                             "reads unambiguously")
        return CheckedQuery(uses_from=False)  # Oxigraph's parser gives the precise message
    return _refuse_remote_access(parsed, set(allowlist), prefixes)


def _parse(source: str) -> CompValue | None:
    """rdflib's parse of a query (None if it is none), run in a thread with room to recurse.
    Raises Forbidden for an update, BadRequest for a query too deep for the parser."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["query"] = parseQuery(source)
        except ParseBaseException:
            try:
                parseUpdate(source)
                outcome["update"] = True
            except ParseBaseException:
                pass
            except RecursionError:
                outcome["deep"] = True
        except RecursionError:
            outcome["deep"] = True

    with _PARSING:  # the recursion limit and the stack size are the process's, not the thread's
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(PARSE_RECURSION)
        try:
            stack = threading.stack_size(PARSE_STACK_BYTES)
            try:
                parser = threading.Thread(target=run, name="sparql-check")
                parser.start()
            finally:
                threading.stack_size(stack)
            parser.join()
        finally:
            sys.setrecursionlimit(previous)
    if outcome.get("update"):
        raise Forbidden("SPARQL Update is not allowed: this endpoint is read-only")
    if outcome.get("deep"):
        raise BadRequest("the query is too long or too deeply nested to check; split it")
    return outcome.get("query")


def _refuse_remote_access(parsed: CompValue, allowed: set[str], prefixes: dict[str, str]) -> CheckedQuery:
    """Refuse SERVICE outside the allow-list; note whether the query names its own dataset.
    ``FROM``/``FROM NAMED`` are never refused: no backend fetches a graph, and one the release
    lacks is an empty graph (SPARQL 1.1 Protocol tests, decision 011)."""
    prologue = translatePrologue(parsed[0], None, {name: URIRef(iri) for name, iri in prefixes.items()})
    uses_from = False
    for node in _nodes(parsed[1]):
        if node.name == "ServiceGraphPattern":
            target = _resolved(node["term"], prologue)
            if not isinstance(target, URIRef) or str(target) not in allowed:
                shown = f"<{target}>" if isinstance(target, URIRef) else f"?{target}"
                raise Forbidden(f"SERVICE {shown} refused: this endpoint does not call other endpoints "
                                "(federation is off unless the operator allow-lists an endpoint)")
        elif node.name == "DatasetClause":
            uses_from = True
    return CheckedQuery(uses_from=uses_from)


def _resolved(term: object, prologue) -> URIRef | Variable | object:
    try:
        return translatePName(term, prologue) if isinstance(term, CompValue) else \
            prologue.absolutize(term) if isinstance(term, URIRef) else term
    except Exception as error:  # noqa: BLE001 - rdflib raises bare Exception for an unknown prefix
        raise BadRequest(f"the query names {term!r}, which does not resolve: {error}") from None


def _nodes(root: object) -> Iterator[CompValue]:
    """Every CompValue of a parse tree, without recursion (a long query's tree is deep)."""
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, CompValue):
            yield node
            pending.extend(node.values())
        elif isinstance(node, (list, tuple, ParseResults)):
            pending.extend(node)
        elif isinstance(node, dict):
            pending.extend(node.values())


@dataclass(frozen=True)
class QueryRules:
    """The operator's rules a query is checked against where it is evaluated, and the prefixes
    the endpoint predeclares (the check must resolve prefixed names as the engine will)."""

    prefixes: dict[str, str] = field(default_factory=dict)
    service_allowlist: tuple[str, ...] = ()
    #: verdicts on queries that passed, by query text (``check``); not part of the rules' identity
    passed: dict[str, CheckedQuery] = field(default_factory=dict, compare=False, repr=False)

    def check(self, text: str) -> CheckedQuery:
        """``check_query`` under these rules, remembered for texts up to ``CACHED_QUERY_CHARACTERS``:
        clients repeat the same queries, and a query holding one of the watched words is parsed
        by rdflib at some 25 µs a byte. At most ``CACHED_QUERIES`` verdicts (a few MB) are kept
        per process; a refusal is not kept (it is computed again)."""
        checked = self.passed.get(text)
        if checked is None:
            checked = check_query(text, self.service_allowlist, self.prefixes)
            if len(text) <= CACHED_QUERY_CHARACTERS:
                if len(self.passed) >= CACHED_QUERIES:
                    self.passed.clear()
                self.passed[text] = checked
        return checked
