"""What the pages say (issue 18), checked against the article and the source file, not against
the code that renders them."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
from rdflib import RDF, RDFS, Graph, Literal, Namespace

from tests.conftest import IN_CI, ROOT, require_debian_package


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _plain(page: str) -> str:
    """The words of an HTML fragment as a reader sees them (tags removed, not spaced out)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))


def test_timeline_shows_uncertain_days_as_ranges_and_same_day_events_in_recorded_order(client):
    text = _text(client.get("/timeline", headers={"Accept": "text/html"}).get_data(as_text=True))
    # the source: the Aktau protest began on 18 or 19 December, the OSCE statement between 16 and 19
    assert "18 or 19 December 2011 (day uncertain) Oil workers' protest in Aktau" in text.replace("&#39;", "'")
    assert "16–19 December 2011 (day uncertain) Statement by OSCE" in text
    # the clashes ran from 16 to 17 December: a span, not an uncertain day
    assert "16–17 December 2011 Clashes with police" in text
    clashes = client.get("/doc/event/mangystau-clashes-2011-12-16-17", headers={"Accept": "text/html"})
    assert '<span class="date">16–17 December 2011</span>' in clashes.get_data(as_text=True)
    aktau = client.get("/doc/event/aktau-protest-2011-12", headers={"Accept": "text/html"})
    assert ('<span class="date">18 or 19 December 2011</span> <span class="note">(day uncertain)</span>'
            in aktau.get_data(as_text=True))
    # the shooting kaz:follows the dispute over the decorations; both are dated 16 December
    assert text.index("Dispute over holiday decorations") < text.index("Police shooting on the central square")
    # a statement reacting to the clashes (16-19 December) comes after the day-certain events of the 16th
    assert text.index("Clashes with police") < text.index("Statement by OSCE")


SCHEMA = Namespace("https://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
KAZ = Namespace("https://w3id.org/kazdata/ontology#")
ID = "https://w3id.org/kazdata/id/"


@pytest.fixture(scope="module")
def sources() -> Graph:
    """The bundled source files, read by rdflib: the independent account of who reported what."""
    graph = Graph()
    for path in sorted((ROOT / "data" / "sources").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def _english(graph: Graph, term) -> str:
    return next(str(o) for o in graph.objects(term, RDFS.label) if isinstance(o, Literal) and o.language == "en")


def _credit(graph: Graph, record) -> str:
    """How a record's figure line should credit it, from the source file: its outlet, the
    publisher of the document it is derived from (when another) and that document's date."""
    outlet = _english(graph, graph.value(record, PROV.wasAttributedTo))
    article = graph.value(record, PROV.wasDerivedFrom)
    publisher = _english(graph, graph.value(article, SCHEMA.publisher))
    day = dt.date.fromisoformat(str(graph.value(article, SCHEMA.datePublished)))
    reported_in = f", reported in {publisher}" if publisher != outlet else ""
    return f"{outlet}{reported_in}, {day.day} {day:%B %Y}"


def _item(page: str, tag: str, href: str) -> str:
    """The ``tag`` element (<li>, <figure>) of the page that holds the link ``href``."""
    link = page.index(f'href="{href}"')
    start = page.rindex(f"<{tag}", 0, link)
    return page[start:page.index(f"</{tag}>", link)]


def test_every_figure_names_its_outlet_publisher_and_date_with_a_reference_under_it(client, sources):
    claims = sorted(sources.subjects(RDF.type, KAZ.FigureClaim))
    assert len(claims) >= 8  # the bundled article reports eight figures
    for claim in claims:
        article = sources.value(claim, PROV.wasDerivedFrom)
        publisher = sources.value(article, SCHEMA.publisher)
        for event in sources.objects(claim, SCHEMA.about):
            page = client.get("/doc/" + event[len(ID):], headers={"Accept": "text/html"}).get_data(as_text=True)
            item = _item(page, "li", "/doc/" + claim[len(ID):])
            assert f"— {_credit(sources, claim)} (the claim)" in _plain(item), (claim, item)
            # the reference, as Wikidata shows one: the document, its address, publisher and date
            reference = item[item.index('<dl class="reference">'):]
            assert f'href="/doc/{article[len(ID):]}"' in reference
            assert f'<a class="address" href="{sources.value(article, SCHEMA.url)}"' in reference
            assert f'href="/doc/{publisher[len(ID):]}"' in reference
            assert f'<time datetime="{sources.value(article, SCHEMA.datePublished)}">' in reference


def test_the_shooting_figure_line_reads_as_the_issue_asks(client):
    page = client.get("/doc/event/zhanaozen-shooting-2011-12-16", headers={"Accept": "text/html"}).get_data(as_text=True)
    item = _plain(_item(page, "li", "/doc/claim/zhanaozen-shooting-deaths-nyt"))
    assert "at least 13 (deaths: 13, at least) — The New York Times, reported in GlobalPost, 19 December 2011" in item


def test_statements_and_quotations_carry_their_reference(client, sources):
    records = sorted(set(sources.subjects(RDF.type, KAZ.StatementClaim)) | set(sources.subjects(RDF.type, SCHEMA.Quotation)))
    assert len(records) >= 5
    for record in records:
        about = sources.value(record, SCHEMA.about) or sources.value(record, KAZ.saidIn)
        page = client.get("/doc/" + about[len(ID):], headers={"Accept": "text/html"}).get_data(as_text=True)
        tag = "figure" if (record, RDF.type, SCHEMA.Quotation) in sources else "li"
        item = _item(page, tag, "/doc/" + record[len(ID):])
        assert _credit(sources, record) in _plain(item), (record, item)
        day = sources.value(sources.value(record, PROV.wasDerivedFrom), SCHEMA.datePublished)
        assert f'<time datetime="{day}">' in item[item.index('<dl class="reference">'):], record


def test_a_place_page_lists_what_is_located_at_places_inside_it(client):
    page = client.get("/doc/place/zhanaozen", headers={"Accept": "text/html"}).get_data(as_text=True)
    inside = page[page.index('id="located-inside"'):]
    # the source: the shooting is located at the central square, which is in Zhanaozen
    assert 'href="/doc/event/zhanaozen-shooting-2011-12-16"' in inside
    assert "central square of Zhanaozen" in inside
    kazakhstan = client.get("/doc/place/kazakhstan", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'href="/doc/event/aktau-protest-2011-12"' in kazakhstan[kazakhstan.index('id="located-inside"'):]


def test_ontology_page_tells_same_labelled_terms_apart_and_counts_uses(client):
    page = client.get("/ontology", headers={"Accept": "text/html"}).get_data(as_text=True)
    strike = page[page.index('id="Strike"'):page.index("</section>", page.index('id="Strike"'))]
    assert "<code>schema:Event</code>" in strike and "<code>sem:Event</code>" in strike
    # one strike in the source; 16 records are claims of some kind (figure or statement claims)
    assert "1 resource" in strike
    claim = page[page.index('id="Claim"'):page.index("</section>", page.index('id="Claim"'))]
    assert "16 resources" in claim
    at_least = page[page.index('id="AtLeast"'):page.index("</section>", page.index('id="AtLeast"'))]
    assert "2 statements with this value" in at_least  # at least 14 (clashes), at least 13 (shooting)


def test_shapes_page_shows_placeholders_as_variables(client):
    page = client.get("/shapes", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "{?" not in page and "{$" not in page
    assert '<var title="filled in with the value found">first</var>' in page


def test_favicon_and_robots_are_served(live_server):
    icon = requests.get(live_server.url("/favicon.ico"))
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    robots = requests.get(live_server.url("/robots.txt"), headers={"Host": "evil.example"})
    assert robots.status_code == 200 and robots.headers["Content-Type"].startswith("text/plain")
    assert "Sitemap: https://w3id.org/kazdata/sitemap.xml" in robots.text and "evil" not in robots.text


def test_maps_are_drawn_on_the_vendored_basemap_with_a_scale_and_an_openstreetmap_link(client):
    page = client.get("/doc/place/zhanaozen", headers={"Accept": "text/html"}).get_data(as_text=True)
    section = page[page.index('<section class="map">'):page.index("</section>", page.index('<section class="map">'))]
    assert section.count('<path class="land') >= 3 and "<title>Kazakhstan</title>" in section
    assert re.search(r'<text class="halo"[^>]*>\d+ km</text>', section)
    # the coordinates are the source file's (GeoNames) for Zhanaozen
    assert "https://www.openstreetmap.org/?mlat=43.34116&amp;mlon=52.86192" in section
    # a place without coordinates says so, and is shown by the place that contains it
    square = client.get("/doc/place/zhanaozen-central-square", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "has no coordinates in the data: the map shows" in square and "mlat=43.34116" in square
    # an event gets the map of its location
    event = client.get("/doc/event/shetpe-shooting-2011-12-17", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "mlat=44.13922&amp;mlon=52.15305" in event


def test_home_page_tells_the_story_from_the_data(client):
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    text = _text(page)
    # the source file: 12 events, from May 2011 (the strike) to 19 December 2011 (the Kremlin meeting)
    assert "12 events dated from May 2011 to 19 December 2011" in text
    figures = page[page.index('class="figures-by-source"'):]
    row = figures[figures.index("/doc/event/zhanaozen-shooting-2011-12-16"):]
    row = row[:row.index("</tr>")]
    assert "at least 13" in row and "The New York Times" in row
    assert '<section class="map">' in page and "<title>Kazakhstan</title>" in page
    for entry in ("/sparql", "/dumps/", "/dataset#cite"):
        assert f'href="{entry}"' in page


def _entry(page: str, path: str) -> str:
    """The timeline entry (its <li>, up to the next entry) of the event at ``path``."""
    link = page.index(f'href="/doc/{path}"')
    return page[page.rindex('<li class="event', 0, link):page.find('<li class="event', link)]


def test_timeline_draws_days_as_dots_ranges_as_bars_with_sourced_figures(client):
    page = client.get("/timeline", headers={"Accept": "text/html"}).get_data(as_text=True)
    shooting = _entry(page, "event/zhanaozen-shooting-2011-12-16")
    assert '<circle class="day"' in shooting and 'class="uncertain"' not in shooting
    assert "at least 13 (deaths) — The New York Times, reported in GlobalPost, 19 December 2011" in _plain(shooting)
    aktau = _entry(page, "event/aktau-protest-2011-12")
    assert '<rect class="uncertain"' in aktau and '<circle class="day"' not in aktau
    clashes = _entry(page, "event/mangystau-clashes-2011-12-16-17")
    assert '<rect class="range"' in clashes
    # sub-events are nested under their parent: the shooting's entry is inside the clashes' list
    parent = page.index('href="/doc/event/mangystau-clashes-2011-12-16-17"')
    assert 'class="event depth-1"' in page[parent:page.index('href="/doc/event/zhanaozen-shooting-2011-12-16"', parent)]


def test_search_finds_names_in_every_language_grouped_by_kind_without_javascript(live_server):
    def search(query: str) -> requests.Response:
        return requests.get(live_server.url("/search"), params={"q": query})

    # the source file's alternate names of Zhanaozen: Kazakh, Russian, an older English name
    for query in ("Жаңаөзен", "жанаозен", "novy uzen", "ZHANAOZEN"):
        response = search(query)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        results = response.text[response.text.index("<h2>Place"):]
        assert 'href="/doc/place/zhanaozen"' in results, query
    # "Ažubalis" folded finds the person written "Azubalis" (and his alternate name with the caron)
    assert 'href="/doc/person/audronius-azubalis"' in search("azubalis").text
    grouped = search("shetpe").text
    assert "<h2>Place (" in grouped and "<h2>Event (" in grouped
    assert grouped.index("<h2>Event (") < grouped.index("<h2>Place (")  # kinds in alphabetical order
    assert "Nothing in this release is named" in search("atlantis").text
    too_long = search("x" * 201)
    assert too_long.status_code == 400 and "at most 200" in too_long.text and "Traceback" not in too_long.text


def test_every_page_has_a_search_box(client):
    for path in ("/", "/timeline", "/doc/place/aktau", "/ontology", "/dumps/", "/search"):
        page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert '<form class="search" action="/search" method="get" role="search">' in page, path


#: where .ci/run installs the Nu HTML Checker (npm vnu-jar); KAZDATA_VNU_JAR names another copy
VNU_JAR = Path(os.environ.get("KAZDATA_VNU_JAR", ROOT / ".ci" / "node" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"))
#: one page of every kind, the error page included
HTML_PAGES = ["/", "/timeline", "/index/place", "/doc/event/zhanaozen-shooting-2011-12-16", "/doc/place/zhanaozen",
              "/doc/place/zhanaozen-central-square", "/doc/person/kalmukhambet-kasymov",
              "/doc/claim/zhanaozen-shooting-deaths-nyt", "/doc/quotation/kasymov-nobody-gave-the-order", "/ontology",
              "/shapes", "/dataset", "/dumps/", "/sparql", "/search?q=zhanaozen", "/doc/place/nowhere"]


def test_every_kind_of_page_is_valid_html_by_the_nu_checker(client, tmp_path):
    """The Nu HTML Checker (vnu.jar, run with Debian's Java) finds no error in any kind of page."""
    java = require_debian_package("default-jre-headless", "/usr/bin/java")
    if not VNU_JAR.is_file():
        message = f"needs the Nu HTML Checker at {VNU_JAR}: .ci/run installs it (npm install --prefix .ci/node vnu-jar)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    files = []
    for number, path in enumerate(HTML_PAGES):
        file = tmp_path / f"page-{number}.html"
        file.write_bytes(client.get(path, headers={"Accept": "text/html"}).get_data())
        files.append(str(file))
    result = subprocess.run([java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [(HTML_PAGES[files.index(m["url"].removeprefix("file:"))], m.get("lastLine"), m["message"])
              for m in messages if m["type"] == "error"]
    assert errors == []


def test_home_page_charts_a_figure_only_where_sources_differ():
    """Two outlets report deaths at one event (written here, not in the bundled data): one chart,
    a bar per claim scaled to the largest, each named by its outlet; one outlet alone: no chart."""
    import pyoxigraph as ox

    from kazdata.entities.description import EntityRef
    from kazdata.entities.graph_view import GraphView
    from kazdata.entities.pages import PageRenderer
    from kazdata.formats import Style

    base, kaz = "https://w3id.org/kazdata/", "https://w3id.org/kazdata/ontology#"
    turtle = f"""
    @prefix kaz: <{kaz}> . @prefix schema: <https://schema.org/> . @prefix prov: <http://www.w3.org/ns/prov#> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @base <{base}id/> .
    <event/e> a schema:Event ; rdfs:label "The shooting"@en .
    <organization/a> a schema:Organization ; rdfs:label "Outlet A"@en .
    <organization/b> a schema:Organization ; rdfs:label "Outlet B"@en .
    kaz:Deaths rdfs:label "deaths"@en .
    <claim/a> a kaz:FigureClaim ; schema:about <event/e> ; kaz:figureKind kaz:Deaths ; kaz:reportedValue 15 ;
        kaz:wording "15"@en ; prov:wasAttributedTo <organization/a> .
    <claim/b> a kaz:FigureClaim ; schema:about <event/e> ; kaz:figureKind kaz:Deaths ; kaz:reportedValue 60 ;
        kaz:wording "at least 60"@en ; prov:wasAttributedTo <organization/b> .
    """
    store = ox.Store()
    store.load(turtle.encode(), ox.RdfFormat.TURTLE)
    view = GraphView(store, base, places=[])
    entries = [view.index_entry(EntityRef(*path.split("/"))) for path in
               ("event/e", "organization/a", "organization/b", "claim/a", "claim/b")]
    home = PageRenderer(view, Style({})).site_pages(entries, "en")["home"]
    chart = home[home.index('<figure class="chart">'):home.index("</figure>", home.index('<figure class="chart">'))]
    assert "at least 60 — Outlet B" in chart and "15 — Outlet A" in chart
    assert '<rect x="0" y="4" width="260.0"' in chart  # 60, the largest: the whole bar
    assert '<rect x="0" y="28" width="65.0"' in chart  # 15 of 60: a quarter of it
    store.remove(ox.Quad(ox.NamedNode(base + "id/claim/b"), ox.NamedNode("http://www.w3.org/ns/prov#wasAttributedTo"),
                         ox.NamedNode(base + "id/organization/b"), ox.DefaultGraph()))
    store.add(ox.Quad(ox.NamedNode(base + "id/claim/b"), ox.NamedNode("http://www.w3.org/ns/prov#wasAttributedTo"),
                      ox.NamedNode(base + "id/organization/a"), ox.DefaultGraph()))
    alone = PageRenderer(GraphView(store, base, places=[]), Style({})).site_pages(entries, "en")["home"]
    assert '<figure class="chart">' not in alone


def test_ontology_page_headings_are_english_plurals(live_server):
    """A newcomer reading /ontology saw "Propertyies": the headings are the plural words a reader
    expects, one per kind of term the ontology declares (owl:Class, the property types)."""
    page = requests.get(live_server.url("/ontology"), headers={"Accept": "text/html"}).text
    headings = re.findall(r"<h2>([^<]*)</h2>", page)
    assert "Classes" in headings and "Properties" in headings, headings
    assert not any(heading.endswith(("yies", "ys")) for heading in headings), headings


def test_a_figure_whose_wording_names_the_counted_group_shows_it_once(live_server, sources):
    """The article prints "one person was killed": the record keeps the wording "one person" and
    the counted group "person" (decision 002), and a page must not read "one person person"."""
    article = (ROOT / "data" / "reference" / "article.txt").read_text(encoding="utf-8")
    figures = [(claim, str(sources.value(claim, KAZ.wording)), str(group))
               for claim, group in sources.subject_objects(KAZ.countedGroup)]
    named = [(claim, wording, group) for claim, wording, group in figures if wording.endswith(group)]
    assert named, "the source has a figure whose wording already names who is counted"
    pages = {path: _plain(requests.get(live_server.url(path), headers={"Accept": "text/html"}).text)
             for path in ("/", "/timeline")}
    for claim, wording, group in named:
        assert wording in article, wording
        about = sources.value(claim, SCHEMA.about)
        pages["/doc/" + about[len(ID):]] = _plain(requests.get(
            live_server.url("/doc/" + about[len(ID):]), headers={"Accept": "text/html"}).text)
        for path, text in pages.items():
            assert f"{wording} {group}" not in text, (path, wording, group)
        assert wording in pages["/timeline"]


def test_every_figure_with_a_counted_group_reads_on_the_timeline_as_the_article_prints_it(live_server, sources):
    """"Thousands oilmen" and "hundreds oil workers" were on the timeline where the article prints
    "Thousands of oilmen" and "hundreds of oil workers": the figure and who it counts, as shown,
    are a phrase of the article (its text is the independent source)."""
    article = _plain((ROOT / "data" / "reference" / "article.txt").read_text(encoding="utf-8")).lower()
    timeline = _plain(requests.get(live_server.url("/timeline"), headers={"Accept": "text/html"}).text)
    figures = list(sources.subject_objects(KAZ.countedGroup))
    assert len(figures) >= 4
    for claim, group in figures:
        wording = str(sources.value(claim, KAZ.wording))
        shown = re.search(re.escape(wording) + r"(?: [^(]*?)?(?= \()", timeline)
        assert shown is not None and shown.group(0).endswith(str(group)), (wording, group)
        assert shown.group(0).lower() in article, (claim, shown.group(0))
