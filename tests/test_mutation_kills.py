"""Tests written for the mutants ``bench/mutation.py`` found alive: each checks, in process and in
milliseconds, a behaviour no other test pinned down, with expected values from outside the code.

They run first in the mutation bench's selections, so most mutants die here before a server
starts. Results writers are compared with pyoxigraph's own serialisation of the same solutions
(parsed, or canonicalised for XML); ASK in CSV and TSV follows Apache Jena's ``_askResult``
column, the convention SPARQL leaves open.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest

from kazdata.sparql.policy import AskResult, SelectResult
from kazdata.sparql.results import write_csv, write_json, write_tsv, write_xml

EX = "https://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
TERMS = f"""SELECT ?int ?date ?lang ?text ?unbound ?bnode ?iri ?triple WHERE {{
  VALUES (?int ?date ?lang ?text ?unbound) {{
    (42 "2011-12-16"^^<{XSD}date> "Жаңаөзен"@kk "say \\"hi\\", then\\ttab\\nline <&> \\u00e9" UNDEF) }}
  <{EX}s> <{EX}p> ?bnode .
  BIND(<{EX}x> AS ?iri) BIND(<<( <{EX}s> <{EX}p> "o"@en )>> AS ?triple) }}"""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    """A stored blank node keeps its label from one query to the next, so two serialisations agree."""
    store = ox.Store()
    store.load(f"<{EX}s> <{EX}p> _:b1 .\n_:b1 <{EX}q> \"x\" .\n".encode(), format=ox.RdfFormat.N_TRIPLES)
    return store


def _select(store: ox.Store, query: str = TERMS) -> SelectResult:
    solutions = store.query(query)
    variables = [variable.value for variable in solutions.variables]
    return SelectResult(variables, [{v: solution[v] for v in variables} for solution in solutions], False)


def _theirs(store: ox.Store, query: str, results_format: ox.QueryResultsFormat) -> bytes:
    return store.query(query).serialize(format=results_format)


ASKS = {True: "ASK {}", False: "ASK { FILTER(false) }"}


def test_json_results_equal_pyoxigraphs_for_every_kind_of_term(store):
    ours = json.loads(b"".join(write_json(_select(store))))
    assert ours == json.loads(_theirs(store, TERMS, ox.QueryResultsFormat.JSON))
    assert ours["results"]["bindings"][0]["bnode"]["value"]  # the label, not only the type


@pytest.mark.parametrize("value", [True, False])
def test_ask_in_json_and_xml_equals_pyoxigraphs(store, value):
    assert json.loads(b"".join(write_json(AskResult(value)))) == json.loads(
        _theirs(store, ASKS[value], ox.QueryResultsFormat.JSON))
    assert ET.canonicalize(b"".join(write_xml(AskResult(value))).decode()) == ET.canonicalize(
        _theirs(store, ASKS[value], ox.QueryResultsFormat.XML).decode())


def test_xml_results_equal_pyoxigraphs_for_every_kind_of_term(store):
    """Canonical XML (C14N) of both: the same elements, attributes and text, triple terms included."""
    ours = b"".join(write_xml(_select(store))).decode()
    assert ET.canonicalize(ours) == ET.canonicalize(_theirs(store, TERMS, ox.QueryResultsFormat.XML).decode())
    assert ours.startswith('<?xml version="1.0"?>')


def test_csv_results_equal_pyoxigraphs_but_for_the_triple_term(store):
    """SPARQL's CSV has no form for a triple term; every other cell is pyoxigraph's."""
    ours = list(csv.reader(io.StringIO(b"".join(write_csv(_select(store))).decode(), newline="")))
    theirs = list(csv.reader(io.StringIO(_theirs(store, TERMS, ox.QueryResultsFormat.CSV).decode(), newline="")))
    column = ours[0].index("triple")
    assert [row[:column] for row in ours] == [row[:column] for row in theirs] and len(ours) == 2
    assert ours[1][column] == '<https://example.org/s> <https://example.org/p> "o"@en'


def test_tsv_results_read_back_as_pyoxigraphs(store):
    expected = _select(store)
    ours = ox.parse_query_results(b"".join(write_tsv(expected)), format=ox.QueryResultsFormat.TSV)
    assert [variable.value for variable in ours.variables] == expected.variables
    assert [{v: row[v] for v in expected.variables} for row in ours] == list(expected.rows)


@pytest.mark.parametrize("value", [True, False])
def test_ask_in_csv_and_tsv_is_jenas_one_column(value):
    word = "true" if value else "false"
    assert b"".join(write_csv(AskResult(value))) == f"_askResult\r\n{word}\r\n".encode()
    assert b"".join(write_tsv(AskResult(value))) == f"?_askResult\n{word}\n".encode()


def test_rows_keep_their_order_and_unbound_cells_in_every_results_format(store):
    """Three rows, the second with ``?b`` unbound: in order, nothing shifted, in every writer."""
    query = 'SELECT ?a ?b WHERE { VALUES (?a ?b) { (1 "x") (2 UNDEF) (3 "z,\\"q\\"") } }'
    result = _select(store, query)
    assert json.loads(b"".join(write_json(result))) == json.loads(_theirs(store, query, ox.QueryResultsFormat.JSON))
    assert ET.canonicalize(b"".join(write_xml(result)).decode()) == ET.canonicalize(
        _theirs(store, query, ox.QueryResultsFormat.XML).decode())
    assert b"".join(write_csv(result)) == _theirs(store, query, ox.QueryResultsFormat.CSV)
    parsed = ox.parse_query_results(b"".join(write_tsv(result)), format=ox.QueryResultsFormat.TSV)
    assert [(row["a"], row["b"]) for row in parsed] == [(row["a"], row["b"]) for row in result.rows]


#: a carriage return in a plain, a language-tagged and a typed literal (``TERMS`` has none: a CSV
#: writer that quoted only on a line feed, and an XML writer that wrote a tagged literal's
#: carriage return raw, which an XML parser reads as a line feed, both passed every test)
CARRIAGE_RETURNS = {"plain": ox.Literal("x\r\ny"), "tagged": ox.Literal("c\rd", language="en"),
                    "typed": ox.Literal("e\rf", datatype=ox.NamedNode(f"{EX}dt"))}
CARRIAGE_RETURNS_QUERY = (r'SELECT ?plain ?tagged ?typed WHERE { BIND("x\r\ny" AS ?plain) BIND("c\rd"@en AS ?tagged) '
                          rf'BIND("e\rf"^^<{EX}dt> AS ?typed) }}')


def test_a_carriage_return_survives_every_results_writer(store):
    """Read back by the standard library's parsers (XML, CSV) and pyoxigraph's (JSON, TSV), each
    cell is the literal written above, carriage return included."""
    result = _select(store, CARRIAGE_RETURNS_QUERY)
    assert result.rows == [CARRIAGE_RETURNS]  # the query binds what the table says
    names = list(CARRIAGE_RETURNS)
    for writer, results_format in ((write_json, ox.QueryResultsFormat.JSON), (write_tsv, ox.QueryResultsFormat.TSV)):
        [row] = list(ox.parse_query_results(b"".join(writer(result)), format=results_format))
        assert {name: row[name] for name in names} == CARRIAGE_RETURNS, writer.__name__
    ns, xml_lang = "{http://www.w3.org/2005/sparql-results#}", "{http://www.w3.org/XML/1998/namespace}lang"
    cells = {binding.get("name"): binding[0] for binding in ET.fromstring(b"".join(write_xml(result))).iter(ns + "binding")}
    assert [(cells[name].text, cells[name].get(xml_lang), cells[name].get("datatype")) for name in names] == [
        ("x\r\ny", None, None), ("c\rd", "en", None), ("e\rf", None, f"{EX}dt")]
    rows = list(csv.reader(io.StringIO(b"".join(write_csv(result)).decode(), newline="")))
    assert rows == [names, ["x\r\ny", "c\rd", "e\rf"]]


# -- negotiation (kazdata.web.negotiation): expected choices worked out from RFC 9110 here ---------

DOCUMENT_TYPES = ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml", "text/html"]


def _document_formats():
    from kazdata.formats import DOCUMENT_FORMATS
    return list(DOCUMENT_FORMATS.values())


@pytest.mark.parametrize("accept, chosen", [
    (None, "text/turtle"),  # no Accept: the server's first choice
    ("text/turtle;charset=utf-8", "text/turtle"),
    ("text/turtle; charset=UTF-8", "text/turtle"),  # charset names are case-insensitive
    ("application/ld+json;profile=\"http://www.w3.org/ns/json-ld#compacted\"", "application/ld+json"),
    ("text/turtle;charset=iso-8859-1, application/n-triples;q=0.5", "application/n-triples"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("text/plain", "application/n-triples"),
    ("*/*;q=0.1, text/html", "text/html"),
    # a wildcard rates the type a format is sent as; an alias counts only when named
    ("application/x-turtle", "text/turtle"),
    ("application/*", "application/ld+json"),
    ("text/turtle;q=0, */*", "application/ld+json"),
    ("text/turtle;q=0.5, text/*", "text/html"),
])
def test_the_format_chosen_for_an_accept_header(accept, chosen):
    from kazdata.web.negotiation import choose_format, parse_accept
    assert choose_format(parse_accept(accept), _document_formats()).media_types[0] == chosen


@pytest.mark.parametrize("accept", ["text/turtle;charset=iso-8859-1", "image/png", "text/turtle;q=0"])
def test_nothing_acceptable_is_a_406_listing_every_offered_type_once(accept):
    from kazdata.errors import NotAcceptable
    from kazdata.web.negotiation import choose_format, parse_accept
    with pytest.raises(NotAcceptable) as refused:
        choose_format(parse_accept(accept), _document_formats())
    assert refused.value.status == 406
    listed = str(refused.value).split("offered: ", 1)[1].split(", ")
    assert set(DOCUMENT_TYPES) <= set(listed) and len(listed) == len(set(listed))


def test_a_remembered_choice_is_the_one_for_the_same_accept_and_the_same_formats():
    """The choice is remembered per Accept header and list of formats (issue 20): the same
    header asked of other formats, or another header of the same formats, is chosen anew, and a
    refusal stays a refusal."""
    from kazdata.errors import NotAcceptable
    from kazdata.formats import DOCUMENT_FORMATS
    from kazdata.web.negotiation import choose_format, parse_accept
    accept = parse_accept("text/html;q=0.5, application/n-triples")
    everything = _document_formats()
    html = [DOCUMENT_FORMATS["html"]]
    for _ in range(2):  # the second time from what was remembered
        assert choose_format(accept, everything).media_types[0] == "application/n-triples"
        assert choose_format(accept, html).media_types[0] == "text/html"
        assert choose_format(parse_accept("text/turtle"), everything).media_types[0] == "text/turtle"
        with pytest.raises(NotAcceptable):
            choose_format(parse_accept("application/n-triples"), html)


def test_understood_drops_only_other_charsets_and_every_other_parameter():
    from werkzeug.datastructures import MIMEAccept

    from kazdata.web.negotiation import understood
    accept = MIMEAccept([("text/turtle;charset=utf-8;foo=bar", 0.9), ("text/html;charset=latin1", 1),
                         ("application/n-triples", 0.5)])
    assert list(understood(accept)) == [("text/turtle", 0.9), ("application/n-triples", 0.5)]
    plain = MIMEAccept([("text/html", 1)])
    assert understood(plain) is plain


@pytest.mark.parametrize("header, gzip", [
    ("gzip", True), ("gzip, deflate", True), ("*", True), ("gzip;q=0", False), ("identity", False),
    ("", False), (None, False), ("deflate, gzip;q=0.2", True)])
def test_accepts_gzip(header, gzip):
    from kazdata.web.negotiation import accepts_gzip
    assert accepts_gzip(header) is gzip


@pytest.mark.parametrize("extension, chosen", [("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
                                               ("nt", "application/n-triples"), ("rdf", "application/rdf+xml"),
                                               ("html", "text/html"), (None, "application/n-triples")])
def test_a_suffix_names_the_format_whatever_accept_says(extension, chosen):
    from kazdata.web.negotiation import format_for, parse_accept
    fmt = format_for(extension, parse_accept("application/n-triples"), _document_formats())
    assert fmt.media_types[0] == chosen


@pytest.mark.parametrize("extension", ["n3", "json", "TTL", ""])
def test_an_unknown_suffix_is_a_404_naming_it_and_the_offered_ones(extension):
    from kazdata.errors import NotFound
    from kazdata.web.negotiation import format_for, parse_accept
    with pytest.raises(NotFound) as refused:
        format_for(extension, parse_accept(None), _document_formats())
    assert f"extension .{extension};" in str(refused.value)
    assert str(refused.value).endswith("offered: .ttl, .jsonld, .nt, .rdf, .html")


@pytest.mark.parametrize("header, chosen", [
    ("ru, en;q=0.5", "ru"), ("kk;q=0.4, ru;q=0.9", "ru"), ("fr", "en"), (None, "en"), ("*", "en"), ("en-GB", "en")])
def test_the_language_chosen_for_an_accept_language_header(header, chosen):
    from kazdata.web.negotiation import choose_language, parse_accept_language
    assert choose_language(parse_accept_language(header), ["en", "ru", "kk"]) == chosen
    assert choose_language(parse_accept_language("fr"), ["en", "ru"], default="ru") == "ru"


# -- the query policy (kazdata.sparql.policy) -----------------------------------------------------

def _readme_default(flag: str) -> str:
    """The default the README's settings table gives for ``flag`` (the operator's documentation)."""
    from tests.conftest import ROOT
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith(f"| `{flag}` |"))
    return row.split("|")[3].strip().strip("`")


def test_the_policy_defaults_are_the_documented_ones():
    from kazdata.sparql.policy import Policy
    assert Policy() == Policy(timeout=float(_readme_default("--query-timeout")),
                              limit=int(_readme_default("--result-limit")))


class _Recording:
    """A backend that records what it was asked and answers a fixed result."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def query(self, request, *, limit, timeout):
        self.calls.append((request, limit, timeout))
        return AskResult(True)


@pytest.mark.parametrize("asked, given", [(None, 10.0), (0, 10.0), (2.5, 2.5), (10.0, 10.0), (60.0, 10.0)])
def test_a_client_may_ask_for_less_time_never_more(asked, given):
    from kazdata.sparql.policy import Engine, Policy, QueryRequest
    backend = _Recording()
    request = QueryRequest("ASK {}")
    answer = Engine(backend, Policy(timeout=10.0, limit=7)).query(request, timeout=asked)
    assert answer == AskResult(True) and backend.calls == [(request, 7, given)]


def test_a_query_request_is_a_value_and_an_ask_is_never_truncated():
    import dataclasses

    from kazdata.sparql.policy import QueryRequest
    request = QueryRequest("ASK {}", ("urn:g",))
    assert request == QueryRequest("ASK {}", ("urn:g",)) and len({request, QueryRequest("ASK {}", ("urn:g",))}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.text = "ASK { ?s ?p ?o }"  # type: ignore[misc]
    assert AskResult(True).truncated is False


@pytest.mark.parametrize("seconds, said", [(10.0, "10 s limit"), (2.5, "2.5 s limit"), (0.25, "0.25 s limit")])
def test_the_timeout_message_names_the_limit(seconds, said):
    from kazdata.sparql.policy import timeout_message
    assert said in timeout_message(seconds) and "narrow it" in timeout_message(seconds)


# -- publishing (kazdata.release.publish) ---------------------------------------------------------

@pytest.fixture(scope="module")
def own_release(release_dir, tmp_path_factory):
    """A copy of the test release for the publish tests: publishing hard-links the release's files
    into the history, which changes their ctime, and the shared release's verification record
    (kazdata.release.checksums) would no longer vouch for them in the tests after."""
    import shutil
    return Path(shutil.copytree(release_dir, tmp_path_factory.mktemp("published") / "release"))


def test_publish_points_a_new_link_at_the_release_and_repoints_it(own_release, tmp_path):
    """The link points at the kept copy in the history folder (decision 015), whose files are the
    release's; a publish into another history folder repoints it, and no staging is left."""
    from kazdata.release.publish import publish
    link = tmp_path / "current"
    kept = publish(own_release, link)
    assert kept.parent == tmp_path / "releases"
    assert link.is_symlink() and link.resolve() == kept.resolve()
    assert (kept / "void.ttl").read_bytes() == (own_release / "void.ttl").read_bytes()
    other = publish(own_release, link, history=tmp_path / "elsewhere")
    assert other.parent == tmp_path / "elsewhere" and link.resolve() == other.resolve()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["current", "elsewhere", "releases"]  # no staging


@pytest.mark.parametrize("leftover", ["dangling symlink", "file", "symlink"])
def test_publish_replaces_what_an_interrupted_switch_left(own_release, tmp_path, leftover):
    from kazdata.release.publish import publish
    staging = tmp_path / ".current.switching"
    if leftover == "dangling symlink":
        staging.symlink_to(tmp_path / "gone")
    elif leftover == "file":
        staging.write_text("half a switch")
    else:
        staging.symlink_to(own_release)
    kept = publish(own_release, tmp_path / "current")
    assert (tmp_path / "current").resolve() == kept.resolve() and not staging.is_symlink()
    assert not staging.exists()


def test_publish_refuses_a_real_directory_and_changes_nothing(own_release, tmp_path):
    from kazdata.errors import ReleaseError
    from kazdata.release.publish import publish
    served = tmp_path / "current"
    served.mkdir()
    (served / "kept").write_text("x")
    with pytest.raises(ReleaseError, match=f"{served} is a directory, not a symlink"):
        publish(own_release, served)
    assert not served.is_symlink() and [p.name for p in served.iterdir()] == ["kept"]
    assert not (tmp_path / ".current.switching").exists()


def test_publish_refuses_a_release_that_does_not_verify_and_changes_nothing(own_release, tmp_path):
    import os
    import shutil

    from kazdata.errors import ReleaseError
    from kazdata.release.publish import publish
    tampered = tmp_path / "tampered"
    shutil.copytree(own_release, tampered)
    path = tampered / "void.ttl"
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"a", b"b", 1))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    link = tmp_path / "current"
    kept = publish(own_release, link)
    with pytest.raises(ReleaseError, match="void.ttl does not match its checksum"):
        publish(tampered, link)  # the same version: a rollback, but the copy given is not intact
    assert link.resolve() == kept.resolve()
    with pytest.raises(ReleaseError, match="void.ttl does not match its checksum"):
        publish(tampered, tmp_path / "fresh")  # a new history: the copy is kept only if it verifies
    assert not (tmp_path / "fresh").exists()


# -- the settings table (kazdata.settings): defaults and rules as the README states them ----------

#: README default -> the value a server runs with, for each setting the README gives a value
README_VALUES = {"--host": str, "--port": int, "--base": str, "--server": str, "--backend": str,
                 "--query-timeout": float, "--query-memory": int, "--result-limit": int, "--result-bytes": int,
                 "--max-body": int, "--verify": str}


def test_every_default_a_server_runs_with_is_the_documented_one():
    from kazdata.settings import load_settings
    settings = load_settings(environ={})
    for flag, parse in README_VALUES.items():
        assert getattr(settings, flag[2:].replace("-", "_")) == parse(_readme_default(flag)), flag
    assert settings.release == __import__("pathlib").Path(_readme_default("--release"))
    assert (settings.endpoint, settings.public_url, settings.sources, settings.access_log) == (None,) * 4
    assert settings.service_allowlist == ()


def test_derived_defaults_follow_the_readme(monkeypatch):
    """granian: 2 workers per core (at least 2) of 8 threads; gunicorn: 4 per core (at least 4) of 32;
    4 query processes per core (at least 4); a client's share: half the query processes, counted
    over the whole server, at least 1 (with no query processes, half a worker's threads)."""
    import os

    from kazdata.settings import load_settings
    for cores, workers, gunicorn_workers, processes, share in [(1, 2, 4, 4, 2), (2, 4, 8, 8, 4), (3, 6, 12, 12, 6)]:
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        granian = load_settings(environ={})
        assert (granian.workers, granian.threads, granian.query_processes) == (workers, 8, processes)
        assert granian.queries_per_client == share
        gunicorn = load_settings(environ={"KAZDATA_SERVER": "gunicorn"})
        assert (gunicorn.workers, gunicorn.threads) == (gunicorn_workers, 32)
    chosen = {"KAZDATA_WORKERS": "2", "KAZDATA_QUERY_PROCESSES": "12"}
    assert load_settings(environ=chosen).queries_per_client == 6  # not shared over the 2 workers
    assert load_settings(environ={**chosen, "KAZDATA_QUERY_PROCESSES": "0"}).queries_per_client == 4  # 8 threads
    assert load_settings(environ={**chosen, "KAZDATA_QUERY_PROCESSES": "1"}).queries_per_client == 1
    assert load_settings(environ={**chosen, "KAZDATA_QUERIES_PER_CLIENT": "0"}).queries_per_client == 0


@pytest.mark.parametrize("variable, value, message", [
    ("KAZDATA_PORT", "0", "0 is out of range: a TCP port from 1 to 65535"),
    ("KAZDATA_PORT", "65536", "65536 is out of range: a TCP port from 1 to 65535"),
    ("KAZDATA_PORT", "http", "'http' is not a TCP port"),
    ("KAZDATA_WORKERS", "0", "0 is out of range: a whole number from 1 up"),
    ("KAZDATA_QUERY_PROCESSES", "-1", "-1 is out of range: a whole number from 0 up"),
    ("KAZDATA_QUERY_TIMEOUT", "0", "'0' is not a positive number of seconds"),
    ("KAZDATA_QUERY_TIMEOUT", "-2", "'-2' is not a positive number of seconds"),
    ("KAZDATA_QUERY_TIMEOUT", "nan", "'nan' is not a positive number of seconds"),
    ("KAZDATA_BASE", "https://example.org/data", "base 'https://example.org/data' must end with '/'"),
    ("KAZDATA_PUBLIC_URL", "https://example.org", "base 'https://example.org' must end with '/'"),
    ("KAZDATA_SERVER", "nginx", "server must be one of granian, granian-rsgi, gunicorn, not 'nginx'"),
    ("KAZDATA_BACKEND", "sqlite", "backend must be one of memory, disk, remote, not 'sqlite'"),
    ("KAZDATA_VERIFY", "yes", "verify must be one of off, quick, full, not 'yes'"),
])
def test_a_value_out_of_range_is_refused_naming_the_variable_and_the_rule(variable, value, message):
    from kazdata.settings import load_settings
    with pytest.raises(ValueError) as refused:
        load_settings(environ={variable: value})
    assert str(refused.value) == f"{variable}={value!r}: {message}"


@pytest.mark.parametrize("variable, value, name, expected", [
    ("KAZDATA_PORT", "1", "port", 1), ("KAZDATA_PORT", "65535", "port", 65535),
    ("KAZDATA_QUERY_PROCESSES", "0", "query_processes", 0), ("KAZDATA_WORKERS", "1", "workers", 1),
    ("KAZDATA_QUERY_TIMEOUT", "0.5", "query_timeout", 0.5),
    ("KAZDATA_SERVICE_ALLOWLIST", " https://a.example/sparql, ,https://b.example/q ,", "service_allowlist",
     ("https://a.example/sparql", "https://b.example/q")),
    ("KAZDATA_ACCESS_LOG", "-", "access_log", "-"), ("KAZDATA_ACCESS_LOG", " OFF ", "access_log", None),
    ("KAZDATA_ACCESS_LOG", "none", "access_log", None), ("KAZDATA_ACCESS_LOG", "", "access_log", None),
    ("KAZDATA_ACCESS_LOG", " logs/access.log ", "access_log", "logs/access.log"),
    ("KAZDATA_VERIFY", " FULL ", "verify", "full"), ("KAZDATA_VERIFY", "TRUE", "verify", "quick"),
    ("KAZDATA_BACKEND", "disk", "backend", "disk"), ("KAZDATA_SERVER", "gunicorn", "server", "gunicorn"),
    ("KAZDATA_RELEASE", "elsewhere/rel", "release", __import__("pathlib").Path("elsewhere/rel")),
])
def test_a_value_in_range_is_read(variable, value, name, expected):
    from kazdata.settings import load_settings
    assert getattr(load_settings(environ={variable: value}), name) == expected


def test_flags_override_the_environment_which_overrides_the_defaults():
    from kazdata.settings import SETTINGS, load_settings
    environ = {"KAZDATA_PORT": "6000", "KAZDATA_HOST": "0.0.0.0"}
    settings = load_settings({"port": 7000, "host": None}, environ=environ)
    assert (settings.port, settings.host) == (7000, "0.0.0.0")
    with pytest.raises(KeyError, match="unknown setting 'colour'"):
        load_settings({"colour": "red"}, environ={})
    named = {setting.name: (setting.flag, setting.env) for setting in SETTINGS}
    assert named["query_timeout"] == ("--query-timeout", "KAZDATA_QUERY_TIMEOUT")
    assert named["host"] == ("--host", "KAZDATA_HOST")


def test_settings_exported_to_workers_load_back_equal():
    import dataclasses

    from kazdata.settings import load_settings
    settings = load_settings({"port": 7001, "service_allowlist": ("https://a.example/s", "https://b.example/s"),
                              "access_log": "-", "query_timeout": 2.5}, environ={})
    exported = settings.exported()
    assert exported["KAZDATA_SERVICE_ALLOWLIST"] == "https://a.example/s,https://b.example/s"
    assert "KAZDATA_ENDPOINT" not in exported and exported["KAZDATA_PORT"] == "7001"
    assert load_settings(environ=exported) == settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


# -- checksums and the verification record (kazdata.release.checksums) ---------------------------

@pytest.fixture
def small_release(tmp_path):
    """A folder with three files (one name with a space) and its SHA256SUMS, as the build writes them."""
    from kazdata.release.checksums import write_checksums
    folder = tmp_path / "release"
    (folder / "dumps").mkdir(parents=True)
    (folder / "dumps" / "a.nt").write_bytes(b"<urn:a> <urn:b> <urn:c> .\n" * 100)
    (folder / "void.ttl").write_bytes(b"# void\n")
    (folder / "with space.txt").write_bytes(b"spaced\n")
    assert write_checksums(folder) == folder / "SHA256SUMS"  # it returns what it wrote
    return folder


def test_sha256sums_lists_every_other_file_sorted_with_hashlibs_digest(small_release):
    import hashlib
    expected = "".join(f"{hashlib.sha256((small_release / name).read_bytes()).hexdigest()}  {name}\n"
                       for name in ("dumps/a.nt", "void.ttl", "with space.txt"))
    assert (small_release / "SHA256SUMS").read_text() == expected


def test_the_record_vouches_for_names_with_spaces_and_for_nothing_when_damaged(small_release):
    from kazdata.release.checksums import read_checksums, read_record, record_path, verify_files
    digests = read_checksums(small_release)
    assert sorted(verify_files(small_release, digests, "quick")) == sorted(digests)
    assert sorted(read_record(small_release)) == ["SHA256SUMS", "dumps/a.nt", "void.ttl", "with space.txt"]
    assert verify_files(small_release, digests, "quick") == []
    record = record_path(small_release)
    assert record.name == ".release.verified" and record.parent == small_release.parent
    text = record.read_text()
    for damaged in (text.replace("kazdata verification record 1", "kazdata verification record 2"),
                    text.replace(" void.ttl\n", "\n"), text.replace(" 0", " x", 1) + "1 2 3\n"):
        record.write_text(damaged)
        assert read_record(small_release) == {} or damaged.endswith("1 2 3\n") and read_record(small_release) == {}
        assert sorted(verify_files(small_release, digests, "quick")) == sorted(digests)


def test_full_hashes_everything_and_an_unknown_level_is_refused(small_release):
    from kazdata.release.checksums import read_checksums, verify_files
    digests = read_checksums(small_release)
    verify_files(small_release, digests, "quick")
    assert sorted(verify_files(small_release, digests, "full")) == sorted(digests)
    assert verify_files(small_release, digests, "off") == []
    with pytest.raises(ValueError, match="verification must be one of off, quick, full, not 'sometimes'"):
        verify_files(small_release, digests, "sometimes")


@pytest.mark.parametrize("change", ["same size", "grown", "replaced smaller", "truncated"])
def test_a_changed_file_is_refused_and_called_truncated_only_when_it_is(small_release, change):
    import os

    from kazdata.errors import ReleaseError
    from kazdata.release.checksums import read_checksums, verify_files
    digests = read_checksums(small_release)
    verify_files(small_release, digests, "full")
    path = small_release / "dumps" / "a.nt"
    size = path.stat().st_size
    if change == "same size":
        path.write_bytes(path.read_bytes().replace(b"<urn:a>", b"<urn:x>", 1))
    elif change == "grown":
        with path.open("ab") as handle:
            handle.write(b"# more\n")
    elif change == "replaced smaller":  # written beside it, then renamed over it: another inode
        (path.parent / "new").write_bytes(b"<urn:a> <urn:b> <urn:c> .\n")
        os.replace(path.parent / "new", path)
    else:
        os.truncate(path, size // 2)
    with pytest.raises(ReleaseError) as refused:
        verify_files(small_release, digests, "quick")
    said = f"{path} does not match its checksum in SHA256SUMS: the release was modified after it was built"
    if change == "truncated":
        said += f" (it is {size // 2} bytes, {size} when it was verified: truncated)"
    assert refused.value.message == said


def test_a_record_is_replaced_whole_and_leaves_no_staging_file(small_release):
    import os

    from kazdata.release.checksums import read_record, record_path, write_record
    write_record(small_release, ["void.ttl"])
    assert sorted(read_record(small_release)) == ["SHA256SUMS", "void.ttl"]
    stat = os.stat(small_release / "void.ttl")
    assert read_record(small_release)["void.ttl"] == (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    assert sorted(p.name for p in small_release.parent.iterdir()) == [".release.verified", "release"]
    write_record(small_release, ["missing.ttl"])  # a stat that fails: the old record stays, no staging file
    assert sorted(read_record(small_release)) == ["SHA256SUMS", "void.ttl"]
    assert sorted(p.name for p in record_path(small_release).parent.iterdir()) == [".release.verified", "release"]


def test_a_record_in_the_documented_format_is_read(small_release):
    """Format 1, as the module documents it: a header line, then ``inode size mtime_ns ctime_ns name``."""
    import os

    from kazdata.release.checksums import read_record, record_path, write_record
    lines = ["kazdata verification record 1\n"]
    for name in ("SHA256SUMS", "with space.txt"):
        stat = os.stat(small_release / name)
        lines.append(f"{stat.st_ino} {stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {name}\n")
    record_path(small_release).write_text("".join(lines))
    stat = os.stat(small_release / "with space.txt")
    assert read_record(small_release)["with space.txt"] == (stat.st_ino, stat.st_size, stat.st_mtime_ns,
                                                            stat.st_ctime_ns)
    write_record(small_release, ["with space.txt"])
    assert record_path(small_release).read_text() == "".join(lines)


def test_a_record_that_cannot_replace_the_old_one_leaves_no_staging_file(small_release):
    from kazdata.release.checksums import read_record, record_path, write_record
    blocked = record_path(small_release)
    blocked.mkdir()
    (blocked / "in the way").write_text("x")  # a folder where the record goes: the rename fails
    write_record(small_release, ["void.ttl"])
    assert read_record(small_release) == {}
    assert sorted(p.name for p in small_release.parent.iterdir()) == [".release.verified", "release"]


def test_the_rows_of_the_settings_table_cannot_be_changed():
    import dataclasses

    from kazdata.settings import SETTINGS
    assert len({*SETTINGS}) == len(SETTINGS)  # values: hashable, each row once
    with pytest.raises(dataclasses.FrozenInstanceError):
        SETTINGS[0].default = "0.0.0.0"  # type: ignore[misc]


#: the least each whole-number setting takes: 0 where the README gives 0 a meaning (no limit, no
#: cap, evaluate in the web workers), else 1
LEAST = {"workers": 1, "threads": 1, "result_limit": 1, "result_bytes": 1, "max_body": 1,
         "query_memory": 0, "queries_per_client": 0, "query_processes": 0}


@pytest.mark.parametrize("name, least", LEAST.items())
def test_each_whole_number_setting_takes_its_least_value_and_refuses_one_less(name, least):
    from kazdata.settings import load_settings
    variable = f"KAZDATA_{name.upper()}"
    assert getattr(load_settings(environ={variable: str(least)}), name) == least
    with pytest.raises(ValueError, match=f"{least - 1} is out of range: a whole number from {least} up"):
        load_settings(environ={variable: str(least - 1)})


def test_a_machine_that_cannot_count_its_cores_gets_the_least_defaults(monkeypatch):
    import os

    from kazdata.settings import load_settings
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    settings = load_settings(environ={})
    assert (settings.workers, settings.query_processes) == (2, 4)


def test_flag_values_are_checked_and_converted_as_environment_values_are():
    from pathlib import Path

    from kazdata.settings import load_settings
    assert load_settings({"release": "elsewhere/rel"}, environ={}).release == Path("elsewhere/rel")
    with pytest.raises(ValueError, match="base 'https://example.org/data' must end with '/'"):
        load_settings({"base": "https://example.org/data"}, environ={})


# -- the entity table the build writes (kazdata.builder.documents) --------------------------------

def test_the_entity_table_gives_each_entity_its_types_parents_date_and_a_label_from_the_dump(release_dir,
                                                                                               dump_store):
    """Expected values from the published dump, queried with pyoxigraph."""
    from kazdata.release.opened import Release

    def objects(iri: str, predicate: str) -> list[ox.Literal | ox.NamedNode]:
        return [row["o"] for row in dump_store.query(f"SELECT DISTINCT ?o WHERE {{ <{iri}> <{predicate}> ?o }}")]

    entities = Release(release_dir).entities
    assert len(entities) > 50
    dated = 0
    for path in entities:
        entry = entities[path]
        iri = entry["iri"]
        assert sorted(entry["types"]) == sorted(t.value for t in objects(iri, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"))
        assert sorted(entry["parent"]) == sorted(p.value for p in objects(iri, "https://schema.org/superEvent"))
        names = {n.value for p in ("http://www.w3.org/2000/01/rdf-schema#label", "https://schema.org/name")
                 for n in objects(iri, p)}
        assert entry["labels"]["en"] in names, (path, entry["labels"], names)
        starts = objects(iri, "https://schema.org/startDate")
        if starts:
            assert entry["sort_date"] in {start.value for start in starts}
            dated += 1
    assert dated >= 5


def test_the_release_is_named_by_the_version_and_date_the_dataset_description_states(release_dir):
    """data/dataset.ttl, read by rdflib, against what the opened release says (not its digest)."""
    from rdflib import Graph, URIRef

    from kazdata.release.opened import Release
    from tests.conftest import ROOT
    described = Graph().parse(ROOT / "data" / "dataset.ttl")
    [version] = described.objects(None, URIRef("http://www.w3.org/2002/07/owl#versionInfo"))
    [issued] = described.objects(None, URIRef("http://purl.org/dc/terms/issued"))
    release = Release(release_dir)
    assert (release.version, release.issued) == (str(version), str(issued))


def test_the_build_reports_its_progress_through_the_documents(tmp_path):
    from kazdata.builder import build_release
    from kazdata.release.opened import Release
    said: list[str] = []
    release = build_release(tmp_path / "release", progress=said.append)
    count = len(Release(release).entities)
    assert f"    {count}/{count} entities" in said


@pytest.mark.parametrize("path", ["/", "/timeline", "/ontology", "/shapes"])
def test_site_pages_are_sent_gzipped_to_clients_that_take_gzip(client, path):
    import gzip
    plain = client.get(path, headers={"Accept": "text/html", "Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200 and "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and b"<html" in plain.data
