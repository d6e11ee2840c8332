"""The query page's address, as a researcher shares and revisits it, in Debian's headless
Chromium: a query with every character a URL treats specially comes back from a link, a reload,
back and forward; an example's entry and the page as first opened come back too; a query too long
for an address is said to be so, kept in the history, and never leaves a stale query in the
address; an earlier query's late answer never replaces a later one's.

Expected values come from outside the page: the example files of the release, Python's own
``urllib.parse``, the same query run by pyoxigraph on the Turtle dump.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.test_query_page import rows_of, run

#: a comment and a string holding what a URL treats specially (# & + % = ?), non-ASCII letters
#: (Kazakh, an emoji), a tab and several lines; it finds the cities all the same
SPECIAL = ("# cities: Жаңаөзен & Ақтау + 100% = ? \U0001F600\n"
           "PREFIX schema: <https://schema.org/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
           "SELECT ?place ?label WHERE {\n\t?place a schema:City ; rdfs:label ?label\n"
           '  FILTER(?label != "a+b&c=d#e%20f")\n} ORDER BY ?label')
SHORT = "SELECT ?s WHERE { ?s a <https://schema.org/City> } ORDER BY ?s"


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def examples(release_dir) -> list[tuple[str, str]]:
    """(name, text) of each example query, read from the release's files."""
    found = sorted((path.stem, path.read_text(encoding="utf-8")) for path in (release_dir / "queries").glob("*.rq"))
    assert len(found) >= 3
    return found


def shown(page) -> str:
    return page.input_value("#query")


def wait_for_query(page, query: str) -> None:
    page.wait_for_function("query => document.getElementById('query').value === query", arg=query)


def test_a_query_with_special_characters_survives_the_address(page, live_server, dump_store):
    page.goto(live_server.url("/sparql"))
    page.select_option("#format", "csv")
    run(page, SPECIAL)
    expected_rows = len(rows_of(dump_store, SPECIAL))
    assert page.locator("table.results tbody tr").count() == expected_rows
    address = urlsplit(page.url)
    assert address.fragment == "" and parse_qs(address.query) == {"query": [SPECIAL], "format": ["csv"]}

    page.reload()
    page.wait_for_selector("table.results tbody tr")
    assert shown(page) == SPECIAL and page.input_value("#format") == "csv"
    assert page.locator("table.results tbody tr").count() == expected_rows

    other = page.context.new_page()  # the link, opened by someone else
    other.goto(page.url)
    other.wait_for_selector("table.results tbody tr")
    assert other.input_value("#query") == SPECIAL and other.input_value("#format") == "csv"
    other.close()


def test_back_and_forward_restore_examples_and_the_page_as_first_opened(page, live_server, examples):
    page.goto(live_server.url("/sparql"))
    first_opened = shown(page)
    assert first_opened == examples[0][1]
    for index in (1, 2):
        page.locator(f"a.example[data-name='{examples[index][0]}']").click()
        page.wait_for_selector("table.results tbody tr")
        assert urlsplit(page.url).path == f"/sparql/examples/{examples[index][0]}"
    assert page.locator(f"ol.examples li.selected a[data-name='{examples[2][0]}']").count() == 1

    page.go_back()
    wait_for_query(page, examples[1][1])
    assert urlsplit(page.url).path == f"/sparql/examples/{examples[1][0]}"
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("ol.examples li.selected a").count() == 1
    assert page.locator(f"ol.examples li.selected a[data-name='{examples[1][0]}']").count() == 1

    page.go_back()
    wait_for_query(page, first_opened)
    assert urlsplit(page.url).path == "/sparql" and urlsplit(page.url).query == ""
    assert page.locator("#results > *").count() == 0  # as first opened: nothing run yet

    page.go_forward()
    wait_for_query(page, examples[1][1])
    page.wait_for_selector("table.results tbody tr")


def test_a_query_too_long_for_the_address_is_said_so_and_kept_in_the_history(page, live_server, dump_store):
    """Past 8000 bytes the server answers 414, so the query is not put in the address; the
    address must not keep the previous query either, or a reload or a shared link would show
    another query than the one whose results are on screen."""
    long_query = SHORT + "\n" + "# " + "padding " * 1200
    page.goto(live_server.url("/sparql"))
    run(page, SHORT)
    assert parse_qs(urlsplit(page.url).query)["query"] == [SHORT]
    run(page, long_query)
    assert page.locator("table.results tbody tr").count() == len(rows_of(dump_store, SHORT))
    assert "too long to keep in the address" in page.inner_text("#status")
    assert urlsplit(page.url).query == "", page.url  # not the previous query

    page.go_back()
    wait_for_query(page, SHORT)
    assert parse_qs(urlsplit(page.url).query)["query"] == [SHORT]
    page.wait_for_selector("table.results tbody tr")
    assert "too long" not in page.inner_text("#status")
    page.go_forward()
    wait_for_query(page, long_query)
    page.reload()
    wait_for_query(page, long_query)
    page.wait_for_selector("table.results tbody tr")
    assert "too long to keep in the address" in page.inner_text("#status")


def test_changing_the_format_rewrites_the_address_without_a_new_entry(page, live_server):
    page.goto(live_server.url("/sparql"))
    run(page, SHORT)
    entries = page.evaluate("history.length")
    page.select_option("#format", "srx")
    assert parse_qs(urlsplit(page.url).query) == {"query": [SHORT], "format": ["srx"]}
    assert page.evaluate("history.length") == entries


def test_an_earlier_querys_late_answer_does_not_replace_a_later_ones(page, live_server, dump_store):
    """A researcher runs a query, finds it slow, edits it and runs again: the first answer,
    arriving last, must not replace the second's results. The browser holds the first request
    back until the second is answered (the server answers both as it would)."""
    held = []
    page.route("**/sparql", lambda route: held.append(route) if route.request.method == "POST" and not held
               else route.continue_())
    page.goto(live_server.url("/sparql"))
    page.fill("#query", "SELECT ?s WHERE { ?s ?p ?o ")  # a syntax error: its answer would show
    page.click("#run")
    page.wait_for_function("() => document.getElementById('status').textContent === 'Running…'")
    assert len(held) == 1
    run(page, SHORT)
    rows = len(rows_of(dump_store, SHORT))
    assert page.locator("table.results tbody tr").count() == rows
    with page.expect_response(lambda response: response.status == 400) as late:
        held[0].continue_()
    late.value.finished()
    page.evaluate("() => new Promise(done => setTimeout(done, 200))")  # its handler has run by now
    assert page.locator("#query-error").is_hidden(), page.inner_text("#query-error")
    assert page.locator("table.results tbody tr").count() == rows
    assert page.inner_text("#status").startswith(f"{rows} rows in ")
