"""The query page as a researcher uses it, in Debian's headless Chromium driven by Playwright, on
the real server; and the few protocol answers it stands on, with requests.

Expected values come from outside the page: pyoxigraph's own parser (where a syntax error is),
the same query run by pyoxigraph on the Turtle dump, Python's csv module and rdflib.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph

from tests.test_pages_browser import AXE

PREFIXES = ("PREFIX schema: <https://schema.org/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX owl: <http://www.w3.org/2002/07/owl#>\n")
CITIES = PREFIXES + "SELECT ?place ?label WHERE {\n  ?place a schema:City ; rdfs:label ?label\n} ORDER BY ?label"
CITY_GRAPH = PREFIXES + "CONSTRUCT { ?place rdfs:label ?label } WHERE { ?place a schema:City ; rdfs:label ?label }"
SAME_AS = PREFIXES + "SELECT ?entity ?same WHERE { ?entity schema:sameAs ?same } ORDER BY ?entity ?same"
#: four columns, long texts: wider than a phone at any sensible column width
QUOTATIONS = ("PREFIX schema: <https://schema.org/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
              "SELECT ?entity ?comment (STRLEN(?comment) AS ?length) ?type\n"
              "WHERE { ?entity rdfs:comment ?comment ; a ?type } ORDER BY DESC(?length) LIMIT 5")
#: a syntax error on the third line: FILTER without its expression
BROKEN = "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTER(?o = ) }"


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    yield context.new_page()
    context.close()


def oxigraph_position(query: str) -> tuple[int, int]:
    """Where pyoxigraph's own parser puts the error: (line, column), columns from 1."""
    with pytest.raises(SyntaxError) as raised:
        ox.Store().query(query)
    line, column = re.search(r"error at (\d+):(\d+)", str(raised.value)).groups()
    return int(line), int(column)


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(lines[i]) + 1 for i in range(line - 1)) + column - 1


def rows_of(dump_store, query: str) -> list[tuple[str, ...]]:
    solutions = dump_store.query(query)
    names = [v.value for v in solutions.variables]
    rows = [tuple(row[n].value for n in names) for row in solutions]
    assert rows, "the test's query must find something in the dump"
    return rows


def run(page, query: str) -> None:
    page.fill("#query", query)
    page.click("#run")
    page.wait_for_function("() => document.getElementById('status').textContent.includes(' ms')"
                           " || !document.getElementById('query-error').hidden")


# -- errors -----------------------------------------------------------------------------------

def test_a_syntax_error_reads_as_a_sentence_and_is_marked_where_the_parser_stopped(page, live_server):
    line, column = oxigraph_position(BROKEN)
    page.goto(live_server.url("/sparql"))
    run(page, BROKEN)
    error = page.inner_text("#query-error")
    assert f"line {line}, column {column}" in error, error
    assert "\\u{" not in error and "[_]" not in error and '{"status"' not in error, error
    marked = page.locator("#highlight mark.error-at")
    assert marked.count() == 1
    offset = offset_of(BROKEN, line, column)
    before = page.evaluate("() => { const r = document.createRange(); const h = document.getElementById('highlight');"
                           " r.setStart(h, 0); r.setEndBefore(h.querySelector('mark')); return r.toString(); }")
    assert before == BROKEN[:offset]
    assert page.evaluate("document.getElementById('query').selectionStart") == offset
    page.type("#query", " ")  # editing the query clears the mark
    assert page.locator("#highlight mark").count() == 0


def test_an_undeclared_prefix_is_named(page, live_server):
    page.goto(live_server.url("/sparql"))
    run(page, "SELECT * WHERE {\n  ?s nope:thing ?o }")
    error = page.inner_text("#query-error")
    assert "Undeclared prefix nope:" in error and "line 2" in error, error
    assert "\\u{" not in error, error


def test_an_error_on_line_5_after_an_emoji_is_marked_where_the_parser_says(page, live_server):
    """Oxigraph counts columns in characters, JavaScript strings in UTF-16 units: a character past
    U+FFFF earlier on the line (an emoji, a mathematical letter) moved the mark and the caret one
    unit left per character."""
    query = ('PREFIX schema: <https://schema.org/>\nSELECT ?label\nWHERE {\n  ?place a schema:City .\n'
             '  ?place schema:name "\U0001F600 \U0001D518" ; nope:label ?label .\n}')
    line, column = oxigraph_position(query)
    assert line == 5
    offset = offset_of(query, line, column)
    page.goto(live_server.url("/sparql"))
    run(page, query)
    error = page.inner_text("#query-error")
    assert f"line 5, column {column}" in error and "Undeclared prefix nope:" in error, error
    before = page.evaluate("() => { const r = document.createRange(); const h = document.getElementById('highlight');"
                           " r.setStart(h, 0); r.setEndBefore(h.querySelector('mark.error-at')); return r.toString(); }")
    assert before == query[:offset]
    assert page.inner_text("#highlight mark.error-at") == query[offset]
    units = len(query[:offset].encode("utf-16-le")) // 2  # what a textarea's selection counts
    assert page.evaluate("document.getElementById('query').selectionStart") == units


def test_a_string_that_never_ends_marks_its_line(page, live_server):
    query = 'SELECT ?s WHERE {\n  ?s ?p "Zhanaozen .\n}'
    page.goto(live_server.url("/sparql"))
    run(page, query)
    assert "line 2" in page.inner_text("#query-error")
    marked = page.eval_on_selector_all("#highlight mark.error-line", "marks => marks.map(m => m.textContent).join('')")
    assert marked == query.split("\n")[1]


#: queries the parser refuses with a verdict of its own (not a list of what could come next),
#: and the words a person needs to read in the answer
VERDICTS = [
    ("SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o }", "in GROUP BY or inside an aggregate"),
    ("SELECT ?o WHERE { ?s ?p ?o } GROUP BY ?s", "in GROUP BY or inside an aggregate"),
    ("SELECT * WHERE { ?s ?p ?o } GROUP BY ?s", "SELECT * is not authorized with GROUP BY"),
    ("SELECT ?s ?s WHERE { ?s ?p ?o }", "duplicated variable name in SELECT"),
    ("SELECT (1 AS ?s) WHERE { ?s ?p ?o }", "the SELECT overrides an existing variable"),
]


@pytest.mark.parametrize(("query", "words"), VERDICTS)
def test_the_parsers_own_verdict_is_said_as_a_sentence(live_server, query, words):
    """Oxigraph writes these as expectations ("expected one of “(”, IF, The SELECT contains a
    variable that is unbound, ..."): shown as such they read as nonsense."""
    line, column = oxigraph_position(query)
    body = requests.get(live_server.url("/sparql"), params={"query": query},
                        headers={"Accept": "application/json"}).json()
    assert (body["line"], body["column"]) == (line, column)
    assert body["message"].startswith(f"malformed query at line {line}, column {column}: "), body
    assert words in body["message"] and "expected" not in body["message"] and "\u201c" not in body["message"], body


def test_a_query_without_its_group_by_is_told_so_on_the_page(page, live_server):
    query, words = VERDICTS[0]
    page.goto(live_server.url("/sparql"))
    run(page, query)
    error = page.inner_text("#query-error")
    assert words in error and "expected" not in error, error


def test_the_error_body_carries_line_and_column_and_scripts_keep_plain_text(live_server):
    line, column = oxigraph_position(BROKEN)
    as_json = requests.get(live_server.url("/sparql"), params={"query": BROKEN}, headers={"Accept": "application/json"})
    assert as_json.status_code == 400
    body = as_json.json()
    assert (body["line"], body["column"]) == (line, column)
    assert "\\u{" not in body["message"] and f"line {line}, column {column}" in body["message"]
    plain = requests.get(live_server.url("/sparql"), params={"query": BROKEN})  # Accept: */*, a script
    assert plain.status_code == 400 and plain.headers["Content-Type"].startswith("text/plain")
    assert f"line {line}, column {column}" in plain.text


# -- the URL ----------------------------------------------------------------------------------

def test_the_query_and_format_go_in_the_url_and_come_back_on_reload(page, live_server):
    page.goto(live_server.url("/sparql"))
    page.select_option("#format", "tsv")
    run(page, CITIES)
    shared = parse_qs(urlsplit(page.url).query)
    assert shared == {"query": [CITIES], "format": ["tsv"]}
    page.reload()
    page.wait_for_selector("table.results tbody tr")
    assert page.input_value("#query") == CITIES
    assert page.input_value("#format") == "tsv"
    page.goto(live_server.url("/sparql?") + urlsplit(page.url).query)  # a link someone shared, opened afresh
    page.wait_for_selector("table.results tbody tr")
    assert page.input_value("#query") == CITIES and page.input_value("#format") == "tsv"
    run(page, SAME_AS)
    page.go_back()
    page.wait_for_function("query => document.getElementById('query').value === query", arg=CITIES)


@pytest.mark.parametrize("keys", ["Control+Enter", "Meta+Enter"])  # Meta: Cmd on a Mac, as the page's hint says
def test_ctrl_enter_runs_the_query(page, live_server, dump_store, keys):
    page.goto(live_server.url("/sparql"))
    page.fill("#query", CITIES)
    page.press("#query", keys)
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() == len(rows_of(dump_store, CITIES))
    assert parse_qs(urlsplit(page.url).query)["query"] == [CITIES]


# -- downloads --------------------------------------------------------------------------------

def test_download_saves_a_named_csv_without_leaving_the_page(page, live_server, dump_store, tmp_path):
    page.goto(live_server.url("/sparql"))
    page.fill("#query", CITIES)
    page.select_option("#format", "csv")
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "kazdata-results.csv"
    saved = tmp_path / "saved.csv"
    download.save_as(saved)
    raw = saved.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # off by default: the protocol's CSV, exactly
    table = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert table[0] == ["place", "label"]
    assert [tuple(r) for r in table[1:]] == rows_of(dump_store, CITIES)
    assert urlsplit(page.url).path == "/sparql" and page.locator("#query").count() == 1

    page.check("#bom")
    with page.expect_download() as info:
        page.click("#download")
    info.value.save_as(tmp_path / "bom.csv")
    assert (tmp_path / "bom.csv").read_bytes() == b"\xef\xbb\xbf" + raw


@pytest.mark.parametrize(("fmt", "suffix"), [("ttl", "ttl"), ("jsonld", "jsonld"), ("", "ttl")])
def test_a_graph_downloads_as_a_named_rdf_file(page, live_server, dump_store, tmp_path, fmt, suffix):
    page.goto(live_server.url("/sparql"))
    page.fill("#query", CITY_GRAPH)
    page.select_option("#format", fmt)
    with page.expect_download() as info:
        page.click("#download")
    assert info.value.suggested_filename == f"kazdata-results.{suffix}"
    info.value.save_as(tmp_path / "graph")
    graph = Graph().parse(tmp_path / "graph", format="turtle" if suffix == "ttl" else "json-ld")
    assert len(graph) == len(list(dump_store.query(CITY_GRAPH)))


def test_download_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(live_server.url("/sparql"))
        page.fill("#query", CITIES)
        page.select_option("#format", "csv")
        with page.expect_download() as info:
            page.click("#download")
        assert info.value.suggested_filename == "kazdata-results.csv"
    finally:
        context.close()


def test_a_table_format_for_a_graph_says_so(page, live_server):
    page.goto(live_server.url("/sparql"))
    page.select_option("#format", "csv")
    run(page, CITY_GRAPH)  # shown as a table all the same, with a word on the format chosen
    assert "CSV holds tables: to download this graph, choose Turtle" in page.inner_text("#status")
    page.select_option("#format", "ttl")
    run(page, CITIES)
    assert "Turtle holds graphs: to download this answer, choose CSV" in page.inner_text("#status")
    page.select_option("#format", "srj")
    run(page, CITIES)
    assert "holds" not in page.inner_text("#status")
    page.fill("#query", CITY_GRAPH)
    page.select_option("#format", "csv")
    page.click("#download")
    page.wait_for_selector("#query-error:not([hidden])")
    error = page.inner_text("#query-error")
    assert "406" in error and "CSV" in error and "Turtle" in error, error


def test_the_protocol_says_406_for_a_format_of_the_other_kind(live_server):
    graph = requests.get(live_server.url("/sparql"), params={"query": CITY_GRAPH, "format": "csv"})
    assert graph.status_code == 406 and "CSV" in graph.text
    table = requests.get(live_server.url("/sparql"), params={"query": CITIES, "format": "ttl"})
    assert table.status_code == 406 and "Turtle" in table.text
    # SPARQLWrapper asks RDF/XML of a CONSTRUCT with format=xml: a name both kinds share still negotiates
    rdfxml = requests.get(live_server.url("/sparql"), params={"query": CITY_GRAPH, "format": "xml"},
                          headers={"Accept": "application/rdf+xml"})
    assert rdfxml.status_code == 200 and rdfxml.headers["Content-Type"].startswith("application/rdf+xml")
    named = requests.get(live_server.url("/sparql"), params={"query": CITIES, "format": "csv", "download": ""},
                         headers={"Accept": "text/html"})  # a browser asking for the file gets the file
    assert named.headers["Content-Disposition"] == 'attachment; filename="kazdata-results.csv"'
    assert named.headers["Content-Type"].startswith("text/csv")
    assert requests.get(live_server.url("/sparql"), params={"query": CITIES, "bom": "maybe"}).status_code == 400


# -- the editor and the results ---------------------------------------------------------------

def test_the_editor_is_tall_and_resizable(page, live_server):
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(live_server.url("/sparql"))
    editor = page.locator("#query")
    line_height = page.evaluate("parseFloat(getComputedStyle(document.getElementById('query')).lineHeight)")
    box = editor.bounding_box()
    assert box["height"] >= 15 * line_height
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # the resize handle
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 200, steps=5)
    page.mouse.up()
    taller = editor.bounding_box()["height"]
    assert taller > box["height"] + 150
    assert abs(page.locator("#highlight").bounding_box()["height"] - taller) < 2  # the colours follow


def test_the_colours_wrap_as_the_text_typed_over_them_on_a_phone(page, live_server):
    """The editor's colours are a ``pre`` drawn under the textarea's transparent text: if the two
    wrap long lines differently, the words seen are not where the caret, a selection or the
    error mark are (kazdata.css's ``pre`` broke words anywhere, the textarea at spaces)."""
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(live_server.url("/sparql"))
    query = "\n".join(f"SELECT ?entity ?same WHERE {{ ?entity schema:sameAs ?same ; rdfs:label ?label{i} }}"
                      for i in range(30))
    page.fill("#query", query)
    sizes = page.evaluate("[document.getElementById('query'), document.getElementById('highlight')]"
                          ".map(e => [e.scrollHeight, e.clientHeight, e.clientWidth])")
    assert sizes[0] == sizes[1], f"textarea {sizes[0]} and colours {sizes[1]} (scroll height, height, width)"
    assert sizes[0][0] > 2 * sizes[0][1], "the query is longer than the editor, its lines wrapped"
    page.evaluate("document.getElementById('query').scrollTop = 1e6")
    page.wait_for_function("() => document.getElementById('highlight').scrollTop"
                           " === document.getElementById('query').scrollTop")


def test_results_wrap_at_word_boundaries_and_scroll_in_their_box_on_a_phone(page, live_server):
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(live_server.url("/sparql"))
    run(page, QUOTATIONS)
    page.wait_for_selector("table.results tbody tr")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the page does not scroll sideways
    box = page.evaluate("(() => { const b = document.getElementById('results'); return {overflow:"
                        " getComputedStyle(b).overflowX, right: b.getBoundingClientRect().right,"
                        " inside: b.scrollWidth, shown: b.clientWidth}; })()")
    assert box["overflow"] == "auto" and box["right"] <= 375
    assert box["inside"] > box["shown"], "the table is wider than a phone: it scrolls in its box, not the page"
    split_words = page.evaluate("""() => {
        const broken = [];
        for (const cell of document.querySelectorAll('table.results td:nth-child(2)')) {
          const node = cell.querySelector('.cell span').firstChild;
          const text = node.textContent;
          for (const found of text.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, found.index); range.setEnd(node, found.index + found[0].length);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(found[0]);
          }
        }
        return broken; }""")
    assert split_words == []
    wrapped = page.evaluate("[...document.querySelectorAll('table.results td:nth-child(2)')]"
                            ".some(td => td.getClientRects()[0].height > 40)")
    assert wrapped, "long quotations wrap onto several lines"


def test_a_word_longer_than_its_column_stays_in_its_cell(page, live_server):
    """Only a word that cannot fit its column's widest line is broken, inside its cell; it does
    not run over the next column (which it did, hiding the IRIs there)."""
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(live_server.url("/sparql"))
    run(page, 'SELECT ("' + "x" * 300 + '" AS ?long) ?s WHERE { ?s ?p ?o } LIMIT 2')
    overlaps = page.evaluate("""[...document.querySelectorAll('table.results tbody tr')].map(tr => {
        const [long, next] = tr.querySelectorAll('td');
        const text = document.createRange(); text.selectNodeContents(long.querySelector('.cell'));
        return [text.getBoundingClientRect().right, next.getBoundingClientRect().left]; })""")
    assert len(overlaps) == 2 and all(right <= left for right, left in overlaps), overlaps


def test_row_counts_and_timings(page, live_server, dump_store):
    page.goto(live_server.url("/sparql"))
    run(page, CITIES)
    expected = len(rows_of(dump_store, CITIES))
    assert re.fullmatch(rf"{expected} rows? in \d+ ms", page.inner_text("#status")), page.inner_text("#status")
    run(page, CITY_GRAPH)
    triples = len(list(dump_store.query(CITY_GRAPH)))
    assert re.fullmatch(rf"{triples} triples? in \d+ ms", page.inner_text("#status")), page.inner_text("#status")
    assert page.locator("table.results tbody tr").count() == triples


def test_a_long_answer_shows_its_first_thousand_rows_and_the_rest_on_request(page, live_server):
    """Chromium took 6 s to lay out 10,000 rows (the endpoint's limit) while the status said the
    query took 160 ms; the first 1,000 are shown at once, the rest a button press away."""
    numbers = ("SELECT ?n WHERE { VALUES ?a { 0 1 2 3 4 } VALUES ?b { " + " ".join(map(str, range(500)))
               + " } BIND(?a * 500 + ?b AS ?n) } ORDER BY ?n")
    page.goto(live_server.url("/sparql"))
    run(page, numbers)
    assert re.fullmatch(r"2500 rows in \d+ ms \(the first 1000 shown\)", page.inner_text("#status"))
    cells = "[...document.querySelectorAll('table.results tbody td')].map(td => td.innerText.split(' ')[0])"
    assert page.evaluate(cells) == [str(n) for n in range(1000)]
    more = page.get_by_role("button", name=re.compile(r"^Show 1000 more rows \(1000 of 2500 shown\)$"))
    more.click()
    assert page.evaluate(cells) == [str(n) for n in range(2000)]
    page.get_by_role("button", name="Show 500 more rows (2000 of 2500 shown)").click()
    assert page.evaluate(cells) == [str(n) for n in range(2500)]
    assert page.locator("#results button").count() == 0
    assert page.evaluate("document.activeElement.id") == "results"  # the focus is not lost with the button


def test_iris_link_to_their_pages(page, live_server, dump_store):
    page.goto(live_server.url("/sparql"))
    run(page, SAME_AS)
    base = "https://w3id.org/kazdata/"
    rows = rows_of(dump_store, SAME_AS)
    hrefs = page.eval_on_selector_all("table.results tbody tr", "trs => trs.map(tr => [...tr.querySelectorAll('a')]"
                                      ".map(a => a.getAttribute('href')))")
    assert hrefs == [["/doc/" + entity[len(base + "id/"):], same] for entity, same in rows]
    page.locator("table.results a[href^='/doc/']").first.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/doc/" + rows[0][0][len(base + "id/"):]
    page.go_back()
    run(page, CITY_GRAPH)  # a graph's IRIs link too
    assert page.locator("table.results tbody a[href^='/doc/place/']").count() == len(list(dump_store.query(CITY_GRAPH)))


#: what Chromium sends when a link is followed
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
                  "application/signed-exchange;v=b3;q=0.7")
#: IRI in a result -> the href its cell must have (None: shown as text, no link)
LINKED = {
    "https://w3id.org/kazdata/id/place/aktau": "/doc/place/aktau",
    "https://w3id.org/kazdata/ontology#PoliceUseOfForce": "/ontology#PoliceUseOfForce",
    "https://w3id.org/kazdata/graph/ontology": "/graph/ontology",
    "https://w3id.org/kazdata/dataset": "/dataset",
    # look like the base, are not under it: left alone
    "https://w3id.org/kazdata-other/id/place/aktau": "https://w3id.org/kazdata-other/id/place/aktau",
    "http://w3id.org/kazdata/id/place/aktau": "http://w3id.org/kazdata/id/place/aktau",
    "https://example.org/w3id.org/kazdata/id/x": "https://example.org/w3id.org/kazdata/id/x",
    "https://www.wikidata.org/wiki/Special:Search?search=Zhanaozen&go=Go#top":
        "https://www.wikidata.org/wiki/Special:Search?search=Zhanaozen&go=Go#top",
    "urn:isbn:9780000000000": None,
    "javascript:alert(1)": None,
}


def test_iris_under_the_base_open_their_pages_and_others_are_left_alone(page, live_server):
    values = " ".join(f"<{iri}>" for iri in LINKED)
    page.goto(live_server.url("/sparql"))
    run(page, f"SELECT ?iri WHERE {{ VALUES ?iri {{ {values} }} }}")
    cells = page.eval_on_selector_all("table.results tbody td", "tds => tds.map(td => [td.innerText,"
                                      " td.querySelector('a') && td.querySelector('a').getAttribute('href')])")
    assert {text.strip("<>"): href for text, href in cells} == LINKED
    for href in LINKED.values():
        if href and href.startswith("/"):  # each link to this host opens something, as a browser asks
            answered = requests.get(live_server.url(href.split("#")[0]), headers={"Accept": BROWSER_ACCEPT})
            assert answered.status_code == 200, href


def test_everything_the_page_loads_comes_from_kazdata(page, live_server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url("/sparql/examples/01-articles"))
    page.wait_for_selector("table.results tbody tr")
    run(page, CITIES)
    assert requested and all(url.startswith(live_server.root + "/") or url.startswith("blob:") for url in requested), requested


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_with_results_a_graph_or_an_error_shown(browser, live_server, scheme):
    """axe-core (vendored) on the page in each state a researcher sees, in both colour schemes:
    light colours fixed in sparql.css (the results' header, the error box, the shortcut) were
    unreadable in dark mode, a state the page test of every kind of page never reached."""
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    found = {}
    for query in (SAME_AS, CITY_GRAPH, BROKEN, "ASK {}"):
        page.goto(live_server.url("/sparql"))
        run(page, query)
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("axe.run().then(r => r.violations.filter(v => ['serious', 'critical']"
                                   ".includes(v.impact)).map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' ')))")
        if violations:
            found[query.split()[0] + " " + query[-12:]] = violations
    context.close()
    assert found == {}


def test_keyboard_order_and_names_a_screen_reader_reads(page, live_server):
    """From the editor, Tab reaches each control in reading order, then the results box (which
    scrolls, so it takes the focus for the arrow keys); each has a name from its label, found by
    Playwright's accessibility lookup, not by the page's ids."""
    page.goto(live_server.url("/sparql"))
    controls = [page.get_by_role("textbox", name="SPARQL query"), page.get_by_role("button", name="Run query"),
                page.get_by_role("combobox", name="Format"), page.get_by_role("checkbox", name="BOM for spreadsheets"),
                page.get_by_role("button", name="Download"), page.get_by_role("region", name="Query results")]
    for control in controls[:5]:  # a name one can see, not only one read out (aria-label)
        assert control.evaluate("e => [...e.labels].some(l => l.checkVisibility()) || e.innerText.trim() !== ''"), control
    page.fill("#query", CITIES)  # nothing run yet: Tab goes from Download to the examples, not an empty box
    page.get_by_role("button", name="Download").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "example"
    run(page, CITIES)
    controls[0].focus()
    for control in controls[1:]:
        page.keyboard.press("Tab")
        assert control.evaluate("element => element === document.activeElement"), control
    assert page.get_by_role("status").inner_text().endswith(" ms")  # read out when a query ends
    run(page, BROKEN)
    assert page.get_by_role("alert").inner_text().startswith("Bad request (400)")
    assert controls[0].evaluate("element => element === document.activeElement")  # back at the error
