"""The static deployment against the Python server: `kazdata export-static`, then the real nginx
and the real Apache httpd, each on a free loopback port with its generated configuration,
compared request by request with the real `kazdata serve` (the ``live_server`` fixture), which
also answers the proxied /sparql."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from conftest import ROOT, ServerProcess, free_port, require_debian_package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kazdata.formats import DOCUMENT_FORMATS
from kazdata.release.opened import Release

#: Headers the static deployment must send exactly as the Python server does.
COMPARED = ("Content-Type", "Vary", "Link", "ETag", "Content-Location", "Content-Language",
            "Content-Encoding", "Cache-Control", "Access-Control-Allow-Origin",
            "Access-Control-Expose-Headers", "Content-Security-Policy", "X-Content-Type-Options",
            "Referrer-Policy", "Last-Modified", "Location")
#: Error bodies are plain text in the static deployment (see decision 006); these must match.
COMPARED_ON_ERRORS = ("Vary", "Cache-Control", "Access-Control-Allow-Origin", "X-Content-Type-Options")


class Nginx(ServerProcess):
    """``nginx -p OUT -c OUT/nginx.conf`` in the foreground, stopped by its process id."""

    def __init__(self, out: Path, port: int) -> None:
        executable = require_debian_package("nginx", "/usr/sbin/nginx")
        directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")  # tmp dirs are 0700
        super().__init__("nginx", [executable, "-p", str(out), "-c", str(out / "nginx.conf"), "-g", directives],
                         port, 20)

    def normalise(self, name: str, value: str | None) -> str | None:
        """A header as the Python server would write it: nginx sends them so already."""
        return value


class Apache(ServerProcess):
    """``apache2 -d OUT -f OUT/apache.conf`` in the foreground, stopped by its process id; with
    ``htaccess``, Apache reads site/.htaccess on every request (as on shared hosting) instead of
    once at start-up."""

    def __init__(self, out: Path, port: int, *, htaccess: bool = False) -> None:
        executable = require_debian_package("apache2", "/usr/sbin/apache2")
        defines = ["-DFOREGROUND"] + (["-DKAZDATA_HTACCESS"] if htaccess else [])
        super().__init__("apache2", [executable, "-d", str(out), "-f", str(out / "apache.conf"), *defines],
                         port, 20)

    def normalise(self, name: str, value: str | None) -> str | None:
        """The two differences decision 006 documents: Apache joins Vary's values with "," (its
        core rewrites the header) and mod_rewrite's Location is absolute."""
        if value is not None and name == "Vary":
            return ", ".join(token.strip() for token in value.split(","))
        if value is not None and name == "Location":
            return value.removeprefix(self.root)
        return value


class ApacheReadingHtaccess(Apache):
    """Apache as on shared hosting: site/.htaccess read on every request."""

    def __init__(self, out: Path, port: int) -> None:
        super().__init__(out, port, htaccess=True)


WEB_SERVERS = {"nginx": Nginx, "apache": Apache, "apache-htaccess": ApacheReadingHtaccess}


class ApacheSharedHosting(Apache):
    """Apache with site/.htaccess and nothing of kazdata in the server configuration, as on shared
    hosting, where only .htaccess can be written: the export's apache.conf with the Include of
    kazdata-apache.conf (the release's ETags, the /sparql proxy, the site's <Directory>) replaced by
    the <Directory> a host gives (AllowOverride FileInfo), on a port of its own."""

    def __init__(self, out: Path, port: int) -> None:
        exported = (out / "apache.conf").read_text()
        include = f'Include "{out}/kazdata-apache.conf"'
        assert exported.count(include) == 1 and exported.count(f"Listen 127.0.0.1:{port}") == 1
        config = exported.replace(include, f'<Directory "{out}/site">\n    Options FollowSymLinks\n'
                                           "    AllowOverride FileInfo\n    Require all granted\n</Directory>")
        own_port = free_port()
        config = config.replace(f"Listen 127.0.0.1:{port}", f"Listen 127.0.0.1:{own_port}")
        config = config.replace("logs/apache2.pid", "logs/shared-hosting.pid")
        assert "kazdata-apache.conf" not in config and "RewriteMap" not in config and "Proxy" not in config
        (out / "shared-hosting.conf").write_text(config)
        executable = require_debian_package("apache2", "/usr/sbin/apache2")
        ServerProcess.__init__(self, "apache2", [executable, "-d", str(out), "-f", str(out / "shared-hosting.conf"),
                                                 "-DFOREGROUND"], own_port, 20)


@pytest.fixture(scope="module")
def export_dir(release_dir, live_server) -> tuple[Path, int]:
    """An export in a folder every user can read (Apache started as root serves as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="kazdata-static-"))
    folder.chmod(0o755)
    out = folder / "export"
    port = free_port()
    subprocess.run([sys.executable, "-m", "kazdata.cli", "export-static", str(out), "--release", str(release_dir),
                    "--listen", f"127.0.0.1:{port}", "--sparql-upstream", live_server.root],
                   check=True, cwd=ROOT, capture_output=True, timeout=300)
    yield out, port
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module", params=list(WEB_SERVERS))
def web_server(request, export_dir):
    """Each web server in turn on the export, on the port it was exported for."""
    server = WEB_SERVERS[request.param](*export_dir)
    yield server
    server.stop()


#: For a test of what only the nginx configuration does.
NGINX_ONLY = pytest.mark.parametrize("web_server", ["nginx"], indirect=True)


@pytest.fixture(scope="module")
def entity_paths(release_dir) -> list[str]:
    return sorted(Release(release_dir).entities)


def _same(python: requests.Response, static: requests.Response, server, what) -> None:
    assert static.status_code == python.status_code, what
    names = COMPARED if python.status_code < 400 else COMPARED_ON_ERRORS
    for name in names:
        assert server.normalise(name, static.headers.get(name)) == python.headers.get(name), (what, name)
    if python.status_code < 400:
        assert static.content == python.content, what


def _both(live_server, server, session, path, headers):
    python = session.get(live_server.url(path), headers=headers, allow_redirects=False)
    static = session.get(server.url(path), headers=headers, allow_redirects=False)
    _same(python, static, server, (path, headers))
    return static


def test_every_entity_redirects_and_every_document_matches_the_python_server(live_server, web_server, entity_paths):
    assert len(entity_paths) > 50
    session = requests.Session()
    for path in entity_paths:
        for accept in ("text/turtle", "text/html", "*/*", None):
            headers = {"Accept": accept} if accept else {}
            response = _both(live_server, web_server, session, f"/id/{path}", headers)
            assert response.status_code == 303
            assert web_server.normalise("Location", response.headers["Location"]) == f"/doc/{path}"
            assert response.text == f"303 See Other: the document about this resource is at /doc/{path}\n"
        for extension, fmt in DOCUMENT_FORMATS.items():
            for encoding in ("gzip", "identity"):
                by_accept = _both(live_server, web_server, session, f"/doc/{path}",
                                  {"Accept": fmt.media_type, "Accept-Encoding": encoding})
                assert by_accept.status_code == 200 and by_accept.headers["Content-Type"] == fmt.content_type
                assert (by_accept.headers.get("Content-Encoding") == "gzip") == (encoding == "gzip")
                by_suffix = _both(live_server, web_server, session, f"/doc/{path}.{extension}",
                                  {"Accept-Encoding": encoding})
                assert by_suffix.content == by_accept.content
        followed = session.get(web_server.url(f"/id/{path}"), headers={"Accept": "application/ld+json"})
        assert followed.history[0].status_code == 303
        assert followed.headers["Content-Type"] == "application/ld+json; charset=utf-8"


@pytest.mark.parametrize("accept", [
    # from the clients the configuration knows (exact map entries)
    "text/turtle;q=0.5, application/ld+json", "application/rdf+xml;q=0.9, text/html;q=0.8", "text/*", "*/*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/n-triples",
    # anything else (regular-expression tiers)
    "application/ld+json;q=0.2, text/turtle;q=0.7", "application/n-triples;q=0.7, text/html;q=0.3",
    "TEXT/TURTLE", "text/turtle;q=0, */*;q=0.1", "application/xhtml+xml", "application/xml",
    "image/png, text/*;q=0.2", "application/*", "text/plain; q=1.0", "image/webp,application/ld+json;q=0.05",
    "text/html;level=1, application/rdf+xml;q=0.5", "application/x-turtle;q=0.3,application/rdf+xml;q=0.1",
    "image/png", "application/json", "text/turtle;q=0",
    # with media-type parameters
    "text/turtle; charset=utf-8", "text/turtle;charset=latin1", "application/n-triples;charset=UTF-8;q=0.4, */*;q=0.1",
    'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"',
])
def test_negotiation_picks_what_the_python_server_picks(live_server, web_server, accept):
    session = requests.Session()
    for path in ("/doc/place/aktau", "/ontology", "/dataset", "/"):
        response = _both(live_server, web_server, session, path, {"Accept": accept})
        assert response.status_code in (200, 406)


_MEDIA = ["text/turtle", "application/ld+json", "application/n-triples", "text/plain", "application/rdf+xml",
          "application/xml", "text/html", "application/xhtml+xml", "application/x-turtle", "text/*",
          "application/*", "*/*", "image/png", "application/json", "text/csv",
          "text/turtle;charset=utf-8", "text/html; charset=ISO-8859-1", 'application/ld+json; profile="x y"']
_QUALITY = st.sampled_from(["", ";q=1", ";q=1.0", ";q=0", ";q=0.0"] + [f";q=0.{d}" for d in range(1, 10)]
                           + [f"; q=0.{d}0" for d in (2, 5)])


@given(st.lists(st.tuples(st.sampled_from(_MEDIA), _QUALITY), min_size=1, max_size=6),
       st.sampled_from([",", ", ", " , "]))
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_accept_with_one_decimal_q_values_is_negotiated_as_in_python(live_server, web_server, elements, separator):
    """With q-values of one decimal the regular-expression tiers decide exactly as Werkzeug."""
    accept = separator.join(media + quality for media, quality in elements)
    python = requests.get(live_server.url("/doc/place/aktau"), headers={"Accept": accept}, allow_redirects=False)
    static = requests.get(web_server.url("/doc/place/aktau"), headers={"Accept": accept}, allow_redirects=False)
    assert (static.status_code, static.headers.get("Content-Location")) == \
        (python.status_code, python.headers.get("Content-Location")), accept


@given(st.lists(st.tuples(st.sampled_from(["en", "kk", "ru", "de", "*", "en-US", "kk-KZ", "ru-RU", "fr-CA"]),
                          _QUALITY), min_size=1, max_size=5))
@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_accept_language_with_one_decimal_q_values_is_negotiated_as_in_python(live_server, web_server, elements):
    language = ", ".join(tag + quality for tag, quality in elements)
    headers = {"Accept": "text/html", "Accept-Language": language}
    python = requests.get(live_server.url("/doc/place/aktau"), headers=headers)
    static = requests.get(web_server.url("/doc/place/aktau"), headers=headers)
    assert static.headers["Content-Language"] == python.headers["Content-Language"], language


def test_q_values_pick_json_ld_over_a_lower_turtle(web_server):
    response = requests.get(web_server.url("/doc/place/aktau"), headers={"Accept": "text/turtle;q=0.5, application/ld+json"})
    assert response.headers["Content-Type"] == "application/ld+json; charset=utf-8"
    assert response.headers["Content-Location"] == "/doc/place/aktau.jsonld"


def test_q_values_with_the_same_first_decimal_go_by_server_preference(web_server):
    """The documented limit: nginx and Apache compare q-values to one decimal place (decision 006)."""
    response = requests.get(web_server.url("/doc/place/aktau"),
                            headers={"Accept": "application/ld+json;q=0.85, application/rdf+xml;q=0.8"})
    assert response.headers["Content-Type"] == "application/ld+json; charset=utf-8"  # Python: the same
    tie = requests.get(web_server.url("/doc/place/aktau"),
                       headers={"Accept": "application/rdf+xml;q=0.85, application/ld+json;q=0.8"})
    assert tie.headers["Content-Type"] == "application/ld+json; charset=utf-8"  # Python: RDF/XML


@pytest.mark.parametrize("language", ["kk", "ru, en;q=0.5", "en-US,en;q=0.9", "de", "kk-KZ",
                                      "fr;q=0.9, ru;q=0.3", "ru-RU;q=0.8, kk;q=0.1", "*", "EN"])
def test_html_language_follows_accept_language_as_in_python(live_server, web_server, language):
    session = requests.Session()
    for path in ("/doc/place/zhanaozen", "/", "/timeline", "/index/event", "/ontology"):
        response = _both(live_server, web_server, session, path, {"Accept": "text/html", "Accept-Language": language})
        assert response.headers["Content-Language"] in ("en", "kk", "ru")


@pytest.mark.parametrize("path", [
    "/", "/timeline", "/timeline/", "/index/event", "/ontology", "/ontology.ttl", "/ontology.html",
    "/shapes", "/shapes.jsonld", "/dataset", "/dataset.nt", "/.well-known/void", "/context.jsonld",
    "/SHA256SUMS", "/dumps/", "/dumps", "/dumps/SHA256SUMS", "/dumps/kazdata.ttl", "/dumps/kazdata.nq.gz",
    "/doc/place/aktau/",
    # errors: status and error headers match (bodies are plain text, see decision 006)
    "/index/nowhere", "/id/place/nowhere", "/doc/place/nowhere", "/doc/place/nowhere.ttl",
    "/doc/place/aktau.xyz", "/id/place/aktau.ttl", "/dumps/nothing.ttl", "/nothing", "/void.ttl",
])
def test_everything_else_that_has_a_uri_matches(live_server, web_server, path):
    session = requests.Session()
    for accept in ("text/html", "*/*", "text/turtle", "image/png"):
        for encoding in ("gzip", "identity"):
            _both(live_server, web_server, session, path, {"Accept": accept, "Accept-Encoding": encoding})


def test_the_iris_the_release_names_dereference_as_in_python(live_server, web_server, release_dir):
    """VoID's root resource (/id/), the release's version IRI, the ontology's version IRIs and
    the named graphs (negotiated, as the Python server serves them), with their near misses."""
    release = Release(release_dir)
    versions = sorted(iri.rsplit("/", 1)[1] for iri in release.ontology_versions)
    graphs = sorted(iri.rsplit("/", 1)[1] for iri in release.graphs)
    assert versions and len(graphs) >= 2
    paths = ["/id/", "/id", f"/releases/{release.version}", f"/releases/{release.version}/", "/releases/0.0.0-other",
             *(f"/ontology/{version}" for version in versions), f"/ontology/{versions[0]}.ttl", "/ontology/0.0.0-other",
             "/graph/nothing", "/graph/nothing.ttl"]
    for graph in graphs:
        paths += [f"/graph/{graph}", f"/graph/{graph}/", f"/graph/{graph}.n3",
                  *(f"/graph/{graph}.{extension}" for extension in DOCUMENT_FORMATS)]
    session = requests.Session()
    for path in paths:
        for accept in ("text/html", "*/*", "text/turtle", "application/rdf+xml, application/ld+json;q=0.5", "image/png"):
            for encoding in ("gzip", "identity"):
                _both(live_server, web_server, session, path, {"Accept": accept, "Accept-Encoding": encoding})


#: What a CORS preflight's answer must carry exactly as the Python server's.
PREFLIGHT_COMPARED = ("Allow", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                      "Access-Control-Max-Age", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
                      "X-Content-Type-Options", "Referrer-Policy")


@pytest.mark.parametrize("path", ["/doc/place/aktau", "/doc/place/aktau.ttl", "/id/place/aktau", "/doc/place/nowhere",
                                  "/id/", "/ontology", "/graph/ontology", "/releases/1.0.0", "/dumps/kazdata.ttl",
                                  "/", "/index/event", "/static/style.css", "/nothing", "/sparql"])
def test_a_cors_preflight_is_answered_as_in_python(live_server, web_server, path):
    """A page on another origin that sends If-None-Match (or any header that is not simple) to
    /doc/ asks first with OPTIONS; without the answer the browser never sends the request."""
    session = requests.Session()
    for asked in ("If-None-Match, Accept-Language", None):
        headers = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
                   **({"Access-Control-Request-Headers": asked} if asked else {})}
        python = session.options(live_server.url(path), headers=headers, allow_redirects=False)
        static = session.options(web_server.url(path), headers=headers, allow_redirects=False)
        assert static.status_code == python.status_code, (path, asked)
        for name in PREFLIGHT_COMPARED:
            assert static.headers.get(name) == python.headers.get(name), (path, asked, name)
        if path.startswith(("/doc/", "/id/")):
            assert static.status_code == 204 and static.content == b""
            assert "if-none-match" in static.headers["Access-Control-Allow-Headers"].lower()


def test_sitemap_lists_the_same_urls_under_the_public_base(live_server, web_server):
    python = requests.get(live_server.url("/sitemap.xml"))
    static = requests.get(web_server.url("/sitemap.xml"), headers={"Host": "elsewhere.example"})
    assert static.headers["Content-Type"] == python.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert static.headers["Cache-Control"] == python.headers["Cache-Control"]
    assert static.text == python.text
    assert "<loc>https://w3id.org/kazdata/doc/place/aktau</loc>" in static.text
    assert "elsewhere.example" not in static.text


#: A public URL unlike the release's base, with a path, as a deployment behind a proxy sets it.
PUBLIC_URL = "https://data.example.org/zhanaozen/"


@pytest.fixture(scope="module")
def public_url_export(release_dir, live_server) -> tuple[Path, int]:
    """An export made with ``--public-url``, exactly as an operator would run the command."""
    folder = Path(tempfile.mkdtemp(prefix="kazdata-static-"))
    folder.chmod(0o755)
    out = folder / "export"
    port = free_port()
    subprocess.run([sys.executable, "-m", "kazdata.cli", "export-static", str(out), "--release", str(release_dir),
                    "--listen", f"127.0.0.1:{port}", "--sparql-upstream", live_server.root,
                    "--public-url", PUBLIC_URL], check=True, cwd=ROOT, capture_output=True, timeout=300)
    yield out, port
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("name", list(WEB_SERVERS))
def test_an_export_with_a_public_url_lists_the_sitemap_under_it(live_server, public_url_export, name):
    """The sitemap names the site by ``--public-url`` (as ``kazdata serve --public-url`` does), on
    nginx and Apache alike, whatever Host the client sends; the Host never appears in it."""
    python = requests.get(live_server.url("/sitemap.xml"), timeout=10)
    server = WEB_SERVERS[name](*public_url_export)
    try:
        hosts = ("attacker.example", f"127.0.0.1:{server.port}", "data.example.org:8443")
        for host in hosts:
            static = requests.get(server.url("/sitemap.xml"), headers={"Host": host}, timeout=10)
            assert static.status_code == 200, host
            assert static.headers["Content-Type"] == "application/xml; charset=utf-8"
            assert host not in static.text
            assert "<loc>https://data.example.org/zhanaozen/doc/place/aktau</loc>" in static.text
            # every URL the Python server lists under the release's base, here under the public URL
            assert static.text == python.text.replace("<loc>https://w3id.org/kazdata/", f"<loc>{PUBLIC_URL}")
            assert "w3id.org" not in static.text
    finally:
        server.stop()


def test_conditional_requests_gzip_range_and_head(web_server):
    url = web_server.url("/doc/event/zhanaozen-shooting-2011-12-16.ttl")
    identity = {"Accept-Encoding": "identity"}
    first = requests.get(url, headers=identity)
    assert "Content-Encoding" not in first.headers and first.headers["Accept-Ranges"] == "bytes"
    assert requests.get(url, headers={**identity, "If-None-Match": first.headers["ETag"]}).status_code == 304
    listed = f'"0000", W/{first.headers["ETag"]}'
    assert requests.get(url, headers={**identity, "If-None-Match": listed}).status_code == 304
    assert requests.get(url, headers={**identity, "If-None-Match": '"0000"'}).status_code == 200
    since = requests.get(url, headers={**identity, "If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.content == first.content
    assert zipped.headers["ETag"] != first.headers["ETag"]
    assert requests.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    assert requests.get(url, headers={"Accept-Encoding": "gzip;q=0"}).headers.get("Content-Encoding") is None
    part = requests.get(url, headers={"Range": "bytes=10-19", "Accept-Encoding": "gzip"})
    assert part.status_code == 206 and part.content == first.content[10:20]
    assert "Content-Encoding" not in part.headers and part.headers["ETag"] == first.headers["ETag"]
    head = requests.head(url, headers=identity)
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == first.headers["ETag"]
    dump = requests.get(web_server.url("/dumps/kazdata.ttl"), headers={"Range": "bytes=0-9"})
    assert dump.status_code == 206 and len(dump.content) == 10


def test_every_line_of_sha256sums_is_served_with_that_checksum(live_server, web_server):
    """/SHA256SUMS lists URL paths (decision 011): the same list as the Python server's, and each
    one fetched from the web server has the digest listed."""
    import hashlib

    listing = requests.get(web_server.url("/SHA256SUMS")).text
    assert listing == requests.get(live_server.url("/SHA256SUMS")).text
    entries = [line.split("  ", 1) for line in listing.splitlines()]
    assert any(name.startswith("graph/") for _digest, name in entries)
    session = requests.Session()
    for digest, name in entries:
        response = session.get(web_server.url("/" + name), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, name
        assert hashlib.sha256(response.content).hexdigest() == digest, name


@pytest.mark.parametrize("path", ["/doc/../SHA256SUMS", "/doc/../../etc/passwd", "/dumps/..%2fvoid.ttl",
                                  "/dumps/%2e%2e/docs/index.json", "/doc/place/..%2f..%2fSHA256SUMS",
                                  "/doc/place/%2E%2E/%2E%2E/SHA256SUMS", "/static/..%5c..%5cnginx.conf",
                                  "/identity/SHA256SUMS", "/site/identity/SHA256SUMS", "/docs/place/aktau.ttl",
                                  "/pages/home.en.html", "/_kazdata/dumps.html", "/nginx.conf", "/void.ttl",
                                  "/docs/index.json", "/_kazdata/see-other/place/aktau"])
def test_no_path_traversal(web_server, path):
    """Sent byte for byte (requests would normalise the dot segments away)."""
    connection = http.client.HTTPConnection("127.0.0.1", int(web_server.root.rsplit(":", 1)[1]), timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    # a path climbing above the root is refused by nginx's request parser itself, with 400
    assert response.status == (400 if path.startswith("/doc/../..") else 404), path
    assert b"root:" not in body and b"worker_processes" not in body


def test_sparql_is_proxied_to_the_kazdata_server(web_server):
    answer = requests.get(web_server.url("/sparql"), params={"query": "ASK {}"},
                          headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200 and answer.json()["boolean"] is True
    select = requests.post(web_server.url("/sparql"), data={"query": "SELECT ?s WHERE { ?s a schema:Event } LIMIT 1"},
                           headers={"Accept": "application/sparql-results+json"})
    assert select.status_code == 200 and len(select.json()["results"]["bindings"]) == 1
    query = "SELECT * WHERE { ?s ?p <http://example.org/../x/> }"  # dot segments in a query string pass
    assert requests.get(web_server.url("/sparql"), params={"query": query}).status_code == 200
    assert requests.get(web_server.url("/sparql/examples/01-articles")).status_code == 200
    assert requests.post(web_server.url("/sparql"), data={"update": "CLEAR ALL"}).status_code == 403


def test_robots_txt_and_the_icon_are_served_at_the_root(live_server, web_server):
    """Browsers ask for /favicon.ico and crawlers for /robots.txt whatever the pages say (issue 18)."""
    python = requests.get(live_server.url("/robots.txt"))
    static = requests.get(web_server.url("/robots.txt"), headers={"Host": "elsewhere.example"})
    assert static.status_code == python.status_code == 200
    assert static.text == python.text
    assert "Sitemap: https://w3id.org/kazdata/sitemap.xml" in static.text and "elsewhere" not in static.text
    for name in ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin", "X-Content-Type-Options"):
        assert static.headers.get(name) == python.headers.get(name), name
    icon = (ROOT / "kazdata" / "entities" / "static" / "favicon.ico").read_bytes()
    python, static = requests.get(live_server.url("/favicon.ico")), requests.get(web_server.url("/favicon.ico"))
    assert static.status_code == python.status_code == 200
    assert static.content == python.content == icon
    assert static.headers["Content-Type"] == python.headers["Content-Type"] == "image/vnd.microsoft.icon"


def test_search_is_proxied_to_the_kazdata_server(live_server, web_server):
    """The search box on every exported page leads to a working /search (decision 018)."""
    python = requests.get(live_server.url("/search"), params={"q": "Aktau"})
    static = requests.get(web_server.url("/search"), params={"q": "Aktau"})
    assert static.status_code == python.status_code == 200
    assert static.text == python.text and 'href="/doc/place/aktau"' in static.text
    assert static.headers["Content-Type"] == python.headers["Content-Type"]
    # the server's own limit still holds through the proxy; nothing else under /search is proxied
    assert requests.get(web_server.url("/search"), params={"q": "x" * 201}).status_code == 400
    assert requests.get(web_server.url("/searchx")).status_code == 404


@NGINX_ONLY
def test_the_export_checks_with_sha256sum(export_dir, web_server):
    out, _ = export_dir
    requests.get(web_server.url("/"))  # logs exist now, and are not listed
    result = subprocess.run(["sha256sum", "-c", "--quiet", "--strict", "SHA256SUMS"], cwd=out,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = (out / "SHA256SUMS").read_text().splitlines()
    for config in ("nginx.conf", "apache.conf", "kazdata-apache.conf", "site/.htaccess"):
        assert any(line.endswith(f"  {config}") for line in listed), config
    assert any(line.endswith("  site/identity/docs/place/aktau.ttl") for line in listed)
    assert not any("  logs/" in line for line in listed)
    assert "sha256sum -c" in (out / "README.txt").read_text()


def run_as_nobody(folder: Path) -> list[str]:
    """When the tests run as root, hand ``folder`` to ``nobody`` and return the ``runuser``
    prefix that starts a web server as that user (the unprivileged way the export's README says)."""
    if os.geteuid() != 0:
        return []
    runuser = require_debian_package("util-linux", "/usr/sbin/runuser")
    folder.chmod(0o755)
    subprocess.run(["chown", "-R", "nobody", str(folder)], check=True)
    return [runuser, "-u", "nobody", "--"]


def test_runs_as_an_unprivileged_user_exactly_as_the_readme_says(release_dir, tmp_path):
    """``nginx -p OUT -c OUT/nginx.conf`` (daemon, pid and logs in OUT), as ``nobody`` when root."""
    import shutil
    import tempfile

    from kazdata.export.static_site import export_static
    nginx = require_debian_package("nginx", "/usr/sbin/nginx")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="kazdata-static-"))  # under /tmp: reachable by nobody
    try:
        out = export_static(release_dir, folder / "export", listen=f"127.0.0.1:{port}")
        prefix = run_as_nobody(folder)
        command = [*prefix, nginx, "-p", str(out), "-c", str(out / "nginx.conf")]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        try:
            deadline = time.monotonic() + 20
            while not (out / "logs" / "nginx.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            response = requests.get(f"http://127.0.0.1:{port}/doc/place/aktau", timeout=10)
            assert response.status_code == 200 and response.headers["ETag"]
            master = int((out / "logs" / "nginx.pid").read_text())
            assert os.stat(f"/proc/{master}").st_uid != 0
        finally:
            subprocess.run([*command, "-s", "quit"], capture_output=True, timeout=30)
            deadline = time.monotonic() + 10
            while (out / "logs" / "nginx.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.05)  # the master removes its pid file when it has exited
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_apache_runs_as_an_unprivileged_user_exactly_as_the_readme_says(release_dir):
    """``apache2 -d OUT -f OUT/apache.conf -k start`` (a daemon, pid and logs in OUT), as
    ``nobody`` when root, and ``-k stop``."""
    from kazdata.export.static_site import export_static
    apache = require_debian_package("apache2", "/usr/sbin/apache2")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="kazdata-static-"))  # under /tmp: reachable by nobody
    try:
        out = export_static(release_dir, folder / "export", listen=f"127.0.0.1:{port}")
        assert f"apache2 -d {out} -f {out}/apache.conf -k start" in (out / "README.txt").read_text()
        prefix = run_as_nobody(folder)
        command = [*prefix, apache, "-d", str(out), "-f", str(out / "apache.conf")]
        subprocess.run([*command, "-k", "start"], check=True, capture_output=True, timeout=30)
        pid_file = out / "logs" / "apache2.pid"
        try:
            deadline = time.monotonic() + 20
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            response = requests.get(f"http://127.0.0.1:{port}/doc/place/aktau", timeout=10)
            assert response.status_code == 200 and response.headers["ETag"]
            assert os.stat(f"/proc/{int(pid_file.read_text())}").st_uid != 0
        finally:
            subprocess.run([*command, "-k", "stop"], capture_output=True, timeout=30)
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)  # the parent removes its pid file when it has exited
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_export_replaces_a_previous_export_but_nothing_else(release_dir, tmp_path):
    from kazdata.errors import ExportError
    from kazdata.export.static_site import export_static
    out = export_static(release_dir, tmp_path / "export", listen="8099")
    (out / "logs" / "access.log").write_text("kept\n")
    export_static(release_dir, out, listen="8099")
    assert (out / "logs" / "access.log").read_text() == "kept\n"
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("mine")
    with pytest.raises(ExportError):
        export_static(release_dir, other)
    assert (other / "precious.txt").read_text() == "mine"
    with pytest.raises(ValueError):
        export_static(release_dir, tmp_path / "x", sparql_upstream="http://127.0.0.1:5000/sparql")


@pytest.mark.parametrize("path", ["/doc/event/zhanaozen-shooting-2011-12-16.ttl", "/doc/place/zhanaozen",
                                  "/doc/place/zhanaozen.html"])
def test_a_weak_etag_in_if_none_match_is_not_modified_on_every_server(live_server, web_server, path):
    """If-None-Match uses weak comparison (RFC 9110): ``W/"<etag>"`` is 304 from the Python
    server's fast path (GET), from Flask (HEAD), from nginx and from Apache alike."""
    for root in (live_server, web_server):
        first = requests.get(root.url(path))
        assert first.status_code == 200 and first.headers["ETag"].startswith('"')
        weak = {"If-None-Match": "W/" + first.headers["ETag"]}
        assert requests.get(root.url(path), headers=weak).status_code == 304, (root, path)
        assert requests.head(root.url(path), headers=weak).status_code == 304, (root, path)
        assert requests.get(root.url(path), headers={"If-None-Match": 'W/"0000"'}).status_code == 200


def test_htaccess_alone_serves_what_the_python_server_serves(live_server, export_dir, entity_paths):
    """Shared hosting: no line of kazdata's in the server configuration. Every /id/ redirects and
    every document, in every format and language, and the pages, dumps and sitemap are sent as
    the Python server sends them (status, type, body; the ETags are Apache's own without the
    RewriteMap, decision 006); what is not there is 404."""
    server = ApacheSharedHosting(*export_dir)
    try:
        session = requests.Session()
        checked = 0
        paths = [f"/doc/{path}" for path in entity_paths]
        paths += ["/", "/timeline", "/ontology", "/shapes", "/dataset", "/dumps/", "/dumps/kazdata.ttl",
                  "/sitemap.xml", "/SHA256SUMS", "/context.jsonld", "/doc/place/no-such-place", "/nowhere",
                  "/robots.txt", "/favicon.ico"]
        for path in paths:
            for accept in ("text/turtle", "text/html", "application/ld+json", None):
                headers = {"Accept": accept} if accept else {}
                python = session.get(live_server.url(path), headers=headers, allow_redirects=False)
                static = session.get(server.url(path), headers=headers, allow_redirects=False)
                assert static.status_code == python.status_code, (path, accept)
                if python.status_code == 200:
                    assert static.headers["Content-Type"] == python.headers["Content-Type"], (path, accept)
                    assert static.content == python.content, (path, accept)
                    checked += 1
        for path in entity_paths:
            redirect = session.get(server.url(f"/id/{path}"), allow_redirects=False)
            assert redirect.status_code == 303 and server.normalise("Location", redirect.headers["Location"]) == f"/doc/{path}"
        assert checked > 4 * len(entity_paths)
    finally:
        server.stop()
