"""The query check (``kazdata.sparql.query_check``) in process: what it refuses, with which error
and message, and what it lets through. The queries and the expected verdicts are written here,
from SPARQL 1.1's grammar (updates, SERVICE, FROM, ``\\u`` escapes resolved before parsing,
comments ending at CR or LF) and the README's limits; written for the mutants
``bench/mutation.py query_check`` found alive, so they run first in its selection.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from pathlib import Path

import pytest

from kazdata.errors import BadRequest, Forbidden
from kazdata.sparql import query_check
from kazdata.sparql.query_check import CheckedQuery, QueryRules, check_query, nesting_depth, resolve_escapes

ALLOWED = "http://allowed.example/sparql"
#: the README's "Security" section: at most 64 levels of brackets
DOCUMENTED_NESTING = 64
UPDATE = "SPARQL Update is not allowed: this endpoint is read-only"
#: the process's recursion limit and thread stack size before any check ran (this module is
#: imported before its tests run)
BEFORE_ANY_CHECK = (sys.getrecursionlimit(), threading.stack_size())


def _check(text: str, allowlist: tuple[str, ...] = (ALLOWED,), prefixes: dict[str, str] | None = None) -> CheckedQuery:
    return check_query(text, allowlist, prefixes or {})


@pytest.mark.parametrize("update", [
    "INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }",
    "DELETE DATA { <http://e/s> <http://e/p> <http://e/o> }",
    "DELETE WHERE { ?s ?p ?o }",
    "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "LOAD <http://e/data.ttl>",
    "CLEAR ALL", "DROP GRAPH <http://e/g>", "CREATE GRAPH <http://e/g>",
    "ADD DEFAULT TO <http://e/g>", "MOVE <http://e/a> TO <http://e/b>", "COPY <http://e/a> TO DEFAULT",
    "insert data { <http://e/s> <http://e/p> 1 }",
])
def test_every_update_form_is_forbidden(update):
    with pytest.raises(Forbidden) as refused:
        _check(update)
    assert str(refused.value) == UPDATE


@pytest.mark.parametrize("query, shown", [
    ("SELECT * { SERVICE <http://other.example/> { ?s ?p ?o } }", "<http://other.example/>"),
    ("select * { service <http://other.example/> { ?s ?p ?o } }", "<http://other.example/>"),
    ("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", "?endpoint"),
    ("PREFIX o: <http://other.example/> SELECT * { SERVICE o:sparql { ?s ?p ?o } }", "<http://other.example/sparql>"),
    ("BASE <http://other.example/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }", "<http://other.example/sparql>"),
    ("SELECT * { SERV\\u0049CE <http://other.example/> { ?s ?p ?o } }", "<http://other.example/>"),
    ("SELECT * { SERVICE <http://other\\U0000002eexample/> { ?s ?p ?o } }", "<http://other.example/>"),
    ("SELECT * WHERE { #x\rSERVICE <http://other.example/> { ?s ?p ?o } }", "<http://other.example/>"),
    ("SELECT * { { ?a ?b ?c } UNION { OPTIONAL { SERVICE <http://other.example/> { ?s ?p ?o } } } }",
     "<http://other.example/>"),
    ("SELECT * { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } SERVICE <http://other.example/> { ?s ?p ?o } }",
     "<http://other.example/>"),
])
def test_service_to_an_endpoint_not_allow_listed_is_forbidden_naming_it(query, shown):
    with pytest.raises(Forbidden) as refused:
        _check(query)
    assert str(refused.value).startswith(f"SERVICE {shown} refused: this endpoint does not call other endpoints")


@pytest.mark.parametrize("query, prefixes", [
    ("SELECT * { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } }", {}),
    ("PREFIX a: <http://allowed.example/> SELECT * { SERVICE a:sparql { ?s ?p ?o } }", {}),
    ("SELECT * { SERVICE a:sparql { ?s ?p ?o } }", {"a": "http://allowed.example/"}),
    ("BASE <http://allowed.example/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }", {}),
])
def test_service_to_an_allow_listed_endpoint_passes(query, prefixes):
    assert _check(query, prefixes=prefixes) == CheckedQuery(uses_from=False)


def test_nothing_is_allow_listed_by_default():
    with pytest.raises(Forbidden, match="SERVICE <http://allowed.example/sparql> refused"):
        check_query("SELECT * { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } }", (), {})
    with pytest.raises(Forbidden, match="refused"):
        QueryRules().check("SELECT * { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } }")
    assert QueryRules({}, (ALLOWED,)).check(f"ASK {{ SERVICE <{ALLOWED}> {{ }} }}") == CheckedQuery(False)


def test_a_service_with_an_undeclared_prefix_is_a_bad_request_naming_it():
    with pytest.raises(BadRequest, match="which does not resolve"):
        _check("SELECT * { SERVICE nowhere:sparql { ?s ?p ?o } }")


@pytest.mark.parametrize("query, uses_from", [
    ("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }", True),
    ("SELECT * FROM NAMED <http://e/g> WHERE { GRAPH ?g { ?s ?p ?o } }", True),
    ("ASK FR\\u004fM <http://e/g> { }", True),
    ("SELECT * WHERE { ?s ?p ?o }", False),
    ('SELECT * WHERE { ?s ?p "from here" }', False),
    ("SELECT * WHERE { ?s <http://e/from> ?o }", False),
    ("SELECT * WHERE { ?s ?p ?o } # FROM <http://e/g>", False),
])
def test_a_query_naming_its_own_dataset_is_told_apart(query, uses_from):
    assert _check(query) == CheckedQuery(uses_from=uses_from)


@pytest.mark.parametrize("query, watched", [
    ("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o", "FROM"),
    ("SELECT * WHERE { SERVICE <http://e/> { ?s ?p ?o }", "SERVICE"),
    ("SELECT * FROM <http://e/g> { SERVICE <http://e/> { ?s ?p ?o }", "SERVICE and FROM"),
])
def test_a_malformed_query_that_may_hold_service_or_from_is_refused_naming_them(query, watched):
    with pytest.raises(BadRequest) as refused:
        _check(query)
    assert str(refused.value) == (f"malformed query, or one whose {watched} this endpoint cannot check: it runs "
                                  "only queries SPARQL 1.1's grammar reads unambiguously")


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o",  # no watched word: no parse, Oxigraph says what is wrong
    "SELECT * WHERE { ?s <http://e/insert> ?o . FILTER( }",  # a watched word, no update, no SERVICE/FROM
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT",
])
def test_a_malformed_query_that_cannot_hold_service_or_from_is_left_to_the_engine(query):
    assert _check(query) == CheckedQuery(uses_from=False)


@pytest.mark.parametrize("escaped, character", [
    ("\\u0041", "A"), ("\\u00e9", "é"), ("\\U0001F600", "\U0001F600"), ("\\U0010FFFF", "\U0010FFFF"),
    ("\\uD7FF", "\ud7ff"), ("\\uE000", "\ue000"), ("\\u004F\\u004e", "ON"),
])
def test_escapes_are_resolved_as_sparql_resolves_them(escaped, character):
    assert resolve_escapes(f"x{escaped}y") == f"x{character}y"


@pytest.mark.parametrize("escaped", ["\\uD800", "\\uDBFF", "\\uDC00", "\\uDFFF", "\\U00110000", "\\UFFFFFFFF",
                                     "\\U0000D800"])
def test_an_escape_that_names_no_character_is_a_bad_request_naming_it(escaped):
    message = (f"{escaped} is not a Unicode character: an escape must name a code point up to U+10FFFF "
               "outside the surrogates D800-DFFF")
    with pytest.raises(BadRequest) as refused:
        resolve_escapes(f"SELECT * {{ ?s ?p '{escaped}' }}")
    assert str(refused.value) == message
    with pytest.raises(BadRequest, match="is not a Unicode character"):
        _check(f"SELECT * {{ ?s ?p '{escaped}' }}")


@pytest.mark.parametrize("text, depth", [
    ("", 0), ("ASK {}", 1), ("ASK { FILTER((1)) }", 3), ("({[", 3), ("(){}[]", 1), ("(()(()))", 3),
    (")))(((", 3), ("]]] {", 1),
    ('ASK { ?s ?p "((({{{" }', 1), ("ASK { ?s ?p '''(((\n(((''' }", 1), ('ASK { ?s ?p """a"b(((""" }', 1),
    ("ASK { ?s ?p 'it\\'s (((' }", 1), ('ASK { ?s ?p "say \\"(((\\"" }', 1),
    ("ASK { ?s <http://e/(((> ?o }", 1), ("ASK { ?s ?p ?o } # (((\n", 1), ("# (((\rASK {}", 1),
    ("ASK { ?s ?p ?o FILTER(?o < 3) FILTER((?o > 1)) }", 3),
    ("<http://e/>((", 2), ('"s"((', 2), ("'s'[[", 2), ("# c\n((", 2), ('"""s"""((', 2),  # right after a skip
    ("ex:a\\#((", 2), ("ex:a\\'((", 2), ("ex:\\((", 1),  # an escaped character, and only it, is skipped
])
def test_nesting_counts_brackets_outside_strings_iris_and_comments(text, depth):
    assert nesting_depth(text) == depth


def _nested(depth: int) -> str:
    """A query ``depth`` levels deep: the WHERE braces, then brackets."""
    return "ASK { ?s ?p ?o FILTER(" + "(" * (depth - 2) + "?o" + ")" * (depth - 2) + ") }"


def test_nesting_up_to_the_documented_limit_passes_and_one_more_is_refused():
    assert query_check.MAX_NESTING == DOCUMENTED_NESTING
    assert nesting_depth(_nested(DOCUMENTED_NESTING)) == DOCUMENTED_NESTING
    assert _check(_nested(DOCUMENTED_NESTING)) == CheckedQuery(uses_from=False)
    with pytest.raises(BadRequest) as refused:
        _check(_nested(DOCUMENTED_NESTING + 1))
    assert str(refused.value) == (f"the query nests brackets {DOCUMENTED_NESTING + 1} deep; this endpoint accepts "
                                  f"at most {DOCUMENTED_NESTING} levels")


def test_brackets_after_a_prefixed_names_escaped_hash_or_quote_are_counted():
    """``ex:a\\#`` and ``ex:a\\'`` are names to Oxigraph (PN_LOCAL_ESC), not a comment or a string:
    read as one, they hid the brackets after them from the bound (and Oxigraph's parser overflows
    its stack past a few thousand)."""
    for name in ("ex:a\\#b", "ex:a\\'b"):
        query = "ASK { ?s ?p " + name + " FILTER(" + "(" * 70 + "1" + ")" * 71 + " } # '"
        assert nesting_depth(query) == 72
        with pytest.raises(BadRequest, match="nests brackets 72 deep"):
            _check(query, prefixes={"ex": "http://e/"})


def test_escaped_brackets_count_as_sparql_reads_them():
    """``\\u0028`` is ``(`` once escapes are resolved (SPARQL 1.1), though Oxigraph reads it literally."""
    query = "ASK { FILTER(" + "\\u0028" * 70 + "1" + ")" * 71 + " }"
    with pytest.raises(BadRequest, match="nests brackets 72 deep"):
        _check(query)


@pytest.mark.parametrize("query, line, start", [
    ('SELECT * WHERE { ?s ?p "abc }', 1, '"abc }'),
    ("SELECT *\nWHERE {\n ?s ?p 'it never ends here }", 3, "'it never en"),
    ('ASK { ?s ?p """closed""" . ?s ?q "open\n }', 1, '"open\n }'),
    ("\nASK { ?s ?p 'x }", 2, "'x }"),
])
def test_an_unterminated_string_is_a_bad_request_saying_where_it_starts(query, line, start):
    with pytest.raises(BadRequest) as refused:
        _check(query)
    assert str(refused.value) == f"malformed query: the string that starts on line {line} ({start!r}...) never ends"


def test_the_parse_leaves_the_processs_recursion_limit_and_thread_stack_as_they_were():
    assert _check("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }").uses_from
    with pytest.raises(Forbidden):
        _check("CLEAR ALL")
    assert (sys.getrecursionlimit(), threading.stack_size()) == BEFORE_ANY_CHECK


def test_a_query_without_a_watched_word_is_not_parsed_and_one_with_is_parsed_in_its_own_thread(monkeypatch):
    """The parse costs milliseconds: a query that holds no word of SERVICE, FROM or an update
    needs none. The parse runs in a thread named for it (seen in a stack dump)."""
    parsed = []
    real = query_check.parseQuery

    def recorded(text):
        parsed.append((text, threading.current_thread().name))
        return real(text)

    monkeypatch.setattr(query_check, "parseQuery", recorded)
    assert _check("SELECT * WHERE { ?s <http://e/p> ?o } LIMIT 10") == CheckedQuery(uses_from=False)
    assert parsed == []
    assert _check("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }").uses_from
    assert parsed == [("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }", "sparql-check")]


EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "queries"


@pytest.mark.parametrize("query", [
    "# which events, with their dates, from which source?\nSELECT * WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p ?o } # within the union: add nothing\r",
    'SELECT * WHERE { ?s ?p "taken from a service, with insert" }',
    "SELECT * WHERE { ?s ?p '''copy\nand drop''' }",
    "SELECT * WHERE { ?s <http://e/from/service> <http://e/with#load> }",
    (EXAMPLES / "08-clashes-sub-events.rq").read_text(encoding="utf-8"),  # "within" in a comment
])
def test_a_watched_word_only_in_a_comment_string_or_iri_needs_no_parse(monkeypatch, query):
    """A keyword is code: words in comments, strings and IRIs cannot be SERVICE, FROM or an
    update. The example query 08 was parsed (250 ms) for "within" in its comment."""
    parsed: list[str] = []
    monkeypatch.setattr(query_check, "parseQuery", parsed.append)
    assert _check(query) == CheckedQuery(uses_from=False)
    assert parsed == []


@pytest.mark.parametrize("query", [
    # an escaped # or ' in a prefixed name opens no comment and no string (SPARQL's PN_LOCAL_ESC):
    # read as one, it hid the SERVICE after it, and Oxigraph runs such a query
    r"SELECT * WHERE { ?s ?p ex:a\#b SERVICE <http://e/> { ?s ?p ?o } }",
    r"SELECT * WHERE { ?s ?p ex:a\'b SERVICE <http://e/> { ?s ?p ?o } } # '",
    # with escapes resolved the same text opens a string: SERVICE is code in the other reading
    r'SELECT * WHERE { ?s ?p ?o FILTER(?o != \u0022) } SERVICE <http://e/> { ?s ?p ?o } # "',
])
def test_code_behind_an_escaped_comment_or_string_opener_is_still_checked(query):
    with pytest.raises((Forbidden, BadRequest)) as refused:
        _check(query, allowlist=(), prefixes={"ex": "http://e/"})
    assert "SERVICE" in str(refused.value)


def test_verdicts_and_rules_are_values_and_the_remembered_verdicts_are_not_shown():
    checked = CheckedQuery(uses_from=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        checked.uses_from = False  # type: ignore[misc]
    rules = QueryRules({"ex": "http://e/"}, (ALLOWED,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.service_allowlist = ()  # type: ignore[misc]
    rules.check("ASK FROM <http://e/secret-graph> {}")
    assert "secret-graph" not in repr(rules) and ALLOWED in repr(rules)


def test_a_query_too_deep_for_the_parser_is_a_bad_request(monkeypatch):
    """Past the parser's recursion room the check answers 400, not a crash (here the room is made
    small, as a query of hundreds of thousands of patterns would exhaust the real one)."""
    monkeypatch.setattr(query_check, "PARSE_RECURSION", 200)
    with pytest.raises(BadRequest) as refused:
        _check("SELECT * FROM <http://e/g> WHERE { " + "?s ?p ?o . " * 5 + "FILTER(" + "(" * 40 + "1" + ")" * 41 + " }")
    assert str(refused.value) == "the query is too long or too deeply nested to check; split it"
    with pytest.raises(BadRequest, match="too long or too deeply nested"):
        _check("INSERT DATA { " + "<http://e/s> <http://e/p> " + "(" * 40 + "1" + ")" * 40 + " }")


def test_rules_remember_passed_queries_up_to_the_bounds(monkeypatch):
    parsed = []
    real = query_check.check_query
    monkeypatch.setattr(query_check, "check_query", lambda text, *rest: parsed.append(text) or real(text, *rest))
    rules = QueryRules({}, ())
    short = "ASK FROM <http://e/g> {}"
    longest = "ASK FROM <http://e/g> {} #" + "x" * (4096 - len("ASK FROM <http://e/g> {} #"))
    longer = longest + "x"
    for text in (short, short, longest, longest, longer, longer):
        assert rules.check(text).uses_from
    assert parsed == [short, longest, longer, longer]  # up to 4096 characters remembered
    assert set(rules.passed) == {short, longest}
    assert rules == QueryRules({}, ())  # what was remembered is not part of the rules


def test_rules_forget_every_verdict_when_full(monkeypatch):
    monkeypatch.setattr(query_check, "CACHED_QUERIES", 2)
    rules = QueryRules({}, ())
    for n in range(3):
        rules.check(f"ASK FROM <http://e/{n}> {{}}")
    assert list(rules.passed) == ["ASK FROM <http://e/2> {}"]
