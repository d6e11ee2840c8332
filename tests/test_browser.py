"""A person's view, in Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import re

import pytest

from tests.conftest import require_debian_package

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    chromium = require_debian_package("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB")
        yield context.new_page()
        browser.close()


def test_home_to_event_person_and_place(page, live_server):
    page.goto(live_server.url("/"))
    assert "Zhanaozen" in page.inner_text("main")
    page.click("text=Timeline")
    page.click("text=Police shooting on the central square of Zhanaozen")
    figures = page.inner_text("section.figures")
    assert "at least 13" in figures and "The New York Times" in figures
    assert "16 December 2011" in page.inner_text("section.properties")

    page.goto(live_server.url("/index/person"))
    page.click("text=Kalmukhambet Kasymov")
    quotation = page.inner_text("section.quotations")
    assert "Nobody specifically gave the order to open fire" in quotation
    assert "The Associated Press" in quotation

    page.goto(live_server.url("/index/place"))
    page.click("a:text-is('Zhanaozen')")
    assert "43.34116" in page.inner_text("section.map")
    assert page.locator("section.map svg circle").count() >= 3
    assert "wikidata.org/entity/Q1000852" in page.inner_text("section.external")


def test_query_page_runs_an_example_and_links_to_entities(page, live_server):
    page.goto(live_server.url("/sparql"))
    page.locator("a.example").nth(1).click()
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() >= 1
    assert re.match(r"\d+ rows? in \d+ ms", page.inner_text("#status"))
    page.fill("#query", "SELECT ?place ?label WHERE { ?place a schema:City ; rdfs:label ?label } ORDER BY ?label")
    page.click("#run")
    page.wait_for_selector("table.results a[href='/doc/place/aktau']")
    page.locator("table.results a[href^='/doc/']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/doc/place/aktau")
    assert page.inner_text("h1") == "Aktau"
