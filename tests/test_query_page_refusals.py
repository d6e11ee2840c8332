"""What a researcher sees on the query page when the endpoint will not answer, in Debian's
headless Chromium against a server of its own with a short time limit and a cap of one query
per client: a query stopped at the time limit (503) and a query refused because the client
already holds one (429) each read as a sentence with its status, never as the raw JSON body; a
proxy's HTML error page as its words, not its markup.

Expected values are the server's settings (the limit in seconds, the cap) and English, not the
page's code.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import LiveServer
from tests.test_query_page import run

#: the server's time limit, in seconds: long enough for the 429 below to be asked within the
#: hold of the query given up before it, on a loaded machine
LIMIT = 5
#: no answer within any limit: 40^8 rows to count
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ {' '.join(str(j) for j in range(40))} }}" for i in range(8)) + " }"
CITIES = "SELECT ?s WHERE { ?s a <https://schema.org/City> } ORDER BY ?s"


@pytest.fixture(scope="module")
def server(release_dir):
    live = LiveServer(release_dir, ["--query-timeout", str(LIMIT), "--queries-per-client", "1",
                                    "--query-processes", "2"])
    yield live
    live.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


def shown_error(page) -> str:
    error = page.inner_text("#query-error")
    assert "{" not in error and '"status"' not in error, f"raw JSON shown: {error}"
    return error


def test_a_query_stopped_at_the_time_limit_says_so(page, server):
    page.goto(server.url("/sparql"))
    run(page, SLOW)
    error = shown_error(page)
    assert error.startswith("Query time limit exceeded (503): "), error
    assert f"longer than the {LIMIT} s limit" in error, error
    assert page.inner_text("#status") == "" and page.locator("#results > *").count() == 0


def test_a_query_refused_for_the_clients_share_says_when_to_try_again(page, server):
    page.goto(server.url("/sparql"))
    for _attempt in range(3):  # a loaded machine may answer past the hold: then give up another
        # given up at 0.3 s, it runs on in its process until the limit and counts for this client
        gave_up = requests.get(server.url("/sparql"), params={"query": SLOW, "timeout": "0.3"}, timeout=30)
        assert gave_up.status_code == 503
        run(page, CITIES)
        if page.locator("#query-error").is_visible():
            break
    error = shown_error(page)
    assert error.startswith("Too many requests (429): this client already has 1 query running,"), error
    wait = re.search(r"try again in (\d+) s", error)
    assert wait and 1 <= int(wait.group(1)) <= LIMIT, error


def test_a_proxys_html_error_page_is_shown_as_its_words(page, server):
    """Behind nginx or a load balancer a query may come back as the proxy's HTML error page (a
    502 when kazdata restarts, a 504 past the proxy's own limit): its text is shown, not its
    markup. The browser stands in for the proxy, answering the page's query with nginx's own page."""
    nginx_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                 "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")
    page.goto(server.url("/sparql"))
    page.route("**/sparql", lambda route: route.fulfill(status=502, content_type="text/html", body=nginx_502)
               if route.request.method == "POST" else route.continue_())
    run(page, CITIES)
    error = page.inner_text("#query-error")
    assert error == "Bad Gateway (502): 502 Bad Gateway nginx/1.22.1", error
