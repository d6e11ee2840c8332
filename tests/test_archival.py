"""Archival-grade releases: a licence and a citation file for the repository; a version, an issue
date, a citation and fixity (size, SHA-256) for every distribution in each release's VoID/DCAT.

The releases are built with the real command line (``kazdata build``), and the values are checked
against independent sources: the bytes on disk (hashlib, os.stat), the flags the test passed.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDFS, XSD

from kazdata.builder.release_info import resolve_release_info
from kazdata.errors import SourceError
from kazdata.formats import GRAPH_FORMATS, HTML
from kazdata.release.opened import Release
from tests.conftest import KAZDATA

ROOT = Path(__file__).resolve().parent.parent

#: The keys CFF 1.2.0 requires (https://github.com/citation-file-format/citation-file-format/blob/main/schema-guide.md)
CFF_REQUIRED = {"cff-version", "message", "title", "authors"}
SPDX = Namespace("http://spdx.org/rdf/terms#")
DCAT3 = Namespace("http://www.w3.org/ns/dcat#")  # rdflib's DCAT predates DCAT 3's versioning terms
DCAT_VERSION = DCAT3.version
BASE = "https://w3id.org/kazdata/"
DATASET = URIRef(BASE + "dataset")
VERSION, ISSUED = "2.1.0-rc.1", "2027-01-15"


def kazdata(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*KAZDATA, *args], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def versioned(tmp_path_factory) -> Path:
    """A release built by the command line with an explicit version and issue date."""
    out = tmp_path_factory.mktemp("versioned") / "release"
    result = kazdata("build", str(out), "--version", VERSION, "--issued", ISSUED)
    assert result.returncode == 0, result.stderr
    return out


def void(release: Path) -> Graph:
    return Graph().parse(release / "void.ttl", format="turtle")


def curated() -> Graph:
    return Graph().parse(ROOT / "data" / "dataset.ttl", format="turtle")


def test_the_repository_has_an_mit_licence_as_pyproject_states():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert "Code: MIT" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_citation_cff_has_the_required_keys_and_both_licences():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert CFF_REQUIRED <= set(cff), CFF_REQUIRED - set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] in ("dataset", "software")
    assert all("name" in author or "family-names" in author for author in cff["authors"])
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    assert isinstance(cff["date-released"], type(__import__("datetime").date.today()))


def test_citation_cff_names_the_version_and_date_of_the_bundled_release():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    graph = curated()
    assert cff["version"] == str(graph.value(DATASET, OWL.versionInfo))
    assert cff["date-released"] == graph.value(DATASET, DCTERMS.issued).toPython()
    assert cff["title"] == str(graph.value(DATASET, DCTERMS.title))


def test_the_flags_set_the_version_issue_date_and_citation(versioned):
    graph = void(versioned)
    assert graph.value(DATASET, OWL.versionInfo) == Literal(VERSION)
    assert graph.value(DATASET, DCAT_VERSION) == Literal(VERSION)
    assert list(graph.objects(DATASET, DCTERMS.issued)) == [Literal(ISSUED, datatype=XSD.date)]
    citation = str(graph.value(DATASET, DCTERMS.bibliographicCitation))
    title = str(curated().value(DATASET, DCTERMS.title))
    assert citation == (f"the kazdata project (2027). {title} (Version {VERSION}, issued {ISSUED}) [Data set]. "
                        f"the kazdata project. {DATASET}")


def test_without_flags_the_release_is_the_one_dataset_ttl_states(release_dir):
    graph, stated = void(release_dir), curated()
    assert graph.value(DATASET, DCAT_VERSION) == stated.value(DATASET, OWL.versionInfo)
    assert graph.value(DATASET, DCTERMS.issued) == stated.value(DATASET, DCTERMS.issued)
    assert len(list(graph.objects(DATASET, OWL.versionInfo))) == 1


def test_every_distribution_states_the_size_and_sha256_of_its_bytes_on_disk(versioned):
    graph = void(versioned)
    on_disk = sorted((versioned / "dumps").iterdir())
    assert any(p.name.endswith(".gz") for p in on_disk)
    listed = {str(d) for d in graph.objects(DATASET, DCAT.distribution)}
    assert listed == {f"{BASE}dumps/{p.name}" for p in on_disk}
    for path in on_disk:
        distribution = URIRef(f"{BASE}dumps/{path.name}")
        assert graph.value(distribution, DCAT.byteSize).toPython() == os.stat(path).st_size, path.name
        checksums = list(graph.objects(distribution, SPDX.checksum))
        assert len(checksums) == 1
        assert graph.value(checksums[0], SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(graph.value(checksums[0], SPDX.checksumValue)) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_command_line_builds_with_the_same_flags_are_byte_identical(versioned, tmp_path):
    again = tmp_path / "again"
    result = kazdata("build", str(again), "--version", VERSION, "--issued", ISSUED)
    assert result.returncode == 0, result.stderr
    first = {p.relative_to(versioned).as_posix(): p.read_bytes() for p in versioned.rglob("*") if p.is_file()}
    second = {p.relative_to(again).as_posix(): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--version", "1.0 beta", "a release version is 1-64 ASCII letters"),
    ("--version", "../etc", "a release version is 1-64 ASCII letters"),
    ("--issued", "2027-13-01", "an issue date is written YYYY-MM-DD"),
    ("--issued", "yesterday", "an issue date is written YYYY-MM-DD"),
])
def test_a_bad_version_or_date_is_refused_before_anything_is_written(tmp_path, flag, value, message):
    out = tmp_path / "release"
    result = kazdata("build", str(out), flag, value)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_source_date_epoch_dates_a_release_whose_description_has_no_date():
    undated = [t for t in curated().triples((None, None, None)) if t[1] != DCTERMS.issued]
    triples = [ox.Triple(ox.NamedNode(str(s)), ox.NamedNode(str(p)),
                         ox.Literal(str(o)) if isinstance(o, Literal) else ox.NamedNode(str(o)))
               for s, p, o in undated if isinstance(s, URIRef)]
    # 1700000000 s after the epoch is 2023-11-14T22:13:20Z
    info = resolve_release_info(triples=triples, environ={"SOURCE_DATE_EPOCH": "1700000000"})
    assert info.issued == date(2023, 11, 14)
    assert info.version == "1.0.0"
    with pytest.raises(SourceError, match="a release needs an issue date"):
        resolve_release_info(triples=triples, environ={})
    with pytest.raises(SourceError, match="SOURCE_DATE_EPOCH is a number of seconds"):
        resolve_release_info(triples=triples, environ={"SOURCE_DATE_EPOCH": "soon"})


def test_the_data_licence_and_the_rights_of_quoted_reporters_are_stated(release_dir):
    graph = void(release_dir)
    assert graph.value(DATASET, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    rights = graph.value(DATASET, DCTERMS.rights)
    note = str(graph.value(rights, RDFS.label))
    assert "quotations" in note and "remain the words" in note
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "remain the words" in readme and "[LICENSE](LICENSE)" in readme


def test_a_release_built_against_a_previous_one_names_it(versioned, tmp_path):
    out = tmp_path / "next"
    result = kazdata("build", str(out), "--version", "2.2.0", "--issued", "2027-02-01", "--previous", str(versioned))
    assert result.returncode == 0, result.stderr
    graph = void(out)
    current, previous = URIRef(BASE + "releases/2.2.0"), URIRef(BASE + "releases/" + VERSION)
    assert graph.value(DATASET, DCAT3.previousVersion) == previous
    assert graph.value(current, DCAT3.previousVersion) == previous
    assert graph.value(DATASET, DCAT3.hasCurrentVersion) == current
    assert set(graph.objects(DATASET, DCAT3.hasVersion)) == {current, previous}
    assert graph.value(previous, DCAT_VERSION) == Literal(VERSION)
    assert graph.value(previous, DCTERMS.issued) == Literal(ISSUED, datatype=XSD.date)
    assert graph.value(current, DCTERMS.isVersionOf) == DATASET
    assert list(void(versioned).objects(DATASET, DCAT3.previousVersion)) == []


@pytest.mark.parametrize(("flags", "message"), [
    (["--version", VERSION, "--issued", "2027-02-01"], f"is version {VERSION} too: a new release needs a new version"),
    (["--version", "3.0.0", "--issued", "2026-01-01"], "a release cannot be issued before the one it follows"),
])
def test_a_previous_release_that_does_not_come_before_is_refused(versioned, tmp_path, flags, message):
    result = kazdata("build", str(tmp_path / "next"), *flags, "--previous", str(versioned))
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_previous_that_is_not_a_release_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = kazdata("build", str(tmp_path / "next"), "--previous", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "not a kazdata release (cannot read void.nt" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]


def _element(page: str, css_class: str) -> str:
    """The text of the first element with ``class="css_class"`` (its tags dropped, entities decoded)."""
    match = re.search(rf'class="{css_class}">(.*?)</(?:p|pre)>', page, re.S)
    assert match, f"no element of class {css_class}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_the_dataset_page_of_the_live_server_says_how_to_cite_the_release(live_server, release_dir):
    response = requests.get(live_server.url("/dataset"), headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page, graph = response.text, void(release_dir)
    assert 'id="cite"' in page and "Cite this release" in page
    assert _element(page, "citation") == str(graph.value(DATASET, DCTERMS.bibliographicCitation))
    version, issued = str(graph.value(DATASET, DCAT_VERSION)), graph.value(DATASET, DCTERMS.issued).toPython()
    bibtex = _element(page, "bibtex")
    assert bibtex.startswith("@misc{kazdata-") and bibtex.count("{") == bibtex.count("}")
    fields = dict(re.findall(r"^  (\w+) = \{(.*)\},$", bibtex, re.M))
    assert fields["version"] == version and fields["year"] == str(issued.year)
    assert fields["title"] == "{" + str(graph.value(DATASET, DCTERMS.title)) + "}"
    [item] = json.loads(_element(page, "csl-json"))
    assert item["type"] == "dataset" and item["version"] == version and item["URL"] == str(DATASET)
    assert item["issued"] == {"date-parts": [[issued.year, issued.month, issued.day]]}
    shown = re.findall(r'href="/dumps/([^"]+)">.*?<code class="sha256">([0-9a-f]{64})</code>', page)
    assert len(shown) == len(list((release_dir / "dumps").iterdir()))
    for name, digest in shown:
        assert digest == hashlib.sha256((release_dir / "dumps" / name).read_bytes()).hexdigest(), name
    assert "remain the words" in _element(page, "rights")


def test_the_description_links_the_checksums_that_the_server_serves(release_dir, live_server):
    sums = URIRef(BASE + "dumps/SHA256SUMS")
    assert sums in set(void(release_dir).objects(DATASET, RDFS.seeAlso))
    response = requests.get(live_server.url("/dumps/SHA256SUMS"), timeout=10)
    assert response.status_code == 200
    listed = dict(line.split("  ")[::-1] for line in response.text.splitlines())
    for path in (release_dir / "dumps").iterdir():
        assert listed[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_opened_release_and_the_openapi_description_carry_the_stated_version(versioned, live_server, release_dir):
    opened = Release(versioned, verify="full")
    assert (opened.version, opened.issued) == (VERSION, ISSUED)
    stated = str(curated().value(DATASET, OWL.versionInfo))
    assert Release(release_dir).version == stated
    description = requests.get(live_server.url("/openapi.json"), timeout=10).json()["info"]["description"]
    assert f"Release {stated}." in description


def test_a_person_finds_the_citation_on_the_dataset_page(live_server, release_dir):
    from tests.conftest import require_debian_package
    from tests.test_browser import CHROMIUM_ARGS
    chromium = require_debian_package("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="en-GB").new_page()
        page.goto(live_server.url("/"))
        page.click("nav a[href='/dataset']")
        page.wait_for_load_state()
        cite = page.locator("section#cite")
        assert cite.locator("h2").inner_text() == "Cite this release"
        assert cite.locator("p.citation").inner_text() == str(void(release_dir).value(DATASET, DCTERMS.bibliographicCitation))
        assert not cite.locator("pre.bibtex").is_visible()
        cite.locator("summary", has_text="BibTeX").click()
        assert cite.locator("pre.bibtex").is_visible()
        assert cite.locator("pre.bibtex").inner_text().startswith("@misc{kazdata-")
        browser.close()


def test_datacite_json_is_valid_datacite_45_with_the_release_metadata(versioned, tmp_path):
    from datacite import schema45  # the DataCite kernel's own JSON schema, from inveniosoftware's client

    record = json.loads((versioned / "datacite.json").read_text(encoding="utf-8"))
    assert schema45.validate(record), [e.message for e in schema45.validator.iter_errors(record)]
    assert not schema45.validate({k: v for k, v in record.items() if k != "types"})  # the validator can refuse
    assert record["version"] == VERSION and record["publicationYear"] == ISSUED[:4]
    assert record["dates"] == [{"date": ISSUED, "dateType": "Issued"}]
    assert record["types"]["resourceTypeGeneral"] == "Dataset"
    assert {"rightsIdentifier": "CC-BY-4.0"}.items() <= record["rightsList"][0].items()
    assert any("remain the words" in r["rights"] for r in record["rightsList"])
    dumps = sorted((versioned / "dumps").iterdir())
    assert sorted(record["sizes"]) == sorted(f"{os.stat(p).st_size} bytes ({p.name})" for p in dumps)
    assert record["relatedIdentifiers"] == []
    out = tmp_path / "next"
    assert kazdata("build", str(out), "--version", "2.3.0", "--issued", "2027-03-01",
                   "--previous", str(versioned)).returncode == 0
    following = json.loads((out / "datacite.json").read_text(encoding="utf-8"))
    assert following["relatedIdentifiers"] == [{"relatedIdentifier": f"{BASE}releases/{VERSION}",
                                                 "relatedIdentifierType": "URL", "relationType": "IsNewVersionOf"}]
    assert schema45.validate(following)


W3ID_DEPLOYMENT = "https://kazdata.example.org"


@pytest.fixture(scope="module")
def w3id(tmp_path_factory):
    """docs/w3id.htaccess as w3id.org runs it: in Apache httpd with mod_rewrite, under /kazdata/."""
    from tests.conftest import ServerProcess, free_port, require_debian_package
    apache = require_debian_package("apache2", "/usr/sbin/apache2")
    root = tmp_path_factory.mktemp("w3id")
    for folder in ("site/kazdata", "logs", "tmp"):
        (root / folder).mkdir(parents=True)
    (root / "site" / "kazdata" / ".htaccess").write_bytes((ROOT / "docs" / "w3id.htaccess").read_bytes())
    port = free_port()
    modules = "/usr/lib/apache2/modules"
    (root / "apache.conf").write_text(f"""ServerRoot "{root}"
ServerName localhost
Listen 127.0.0.1:{port}
PidFile logs/apache2.pid
DefaultRuntimeDir tmp
ErrorLog logs/error.log
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule rewrite_module {modules}/mod_rewrite.so
DocumentRoot "{root}/site"
<Directory "{root}/site">
    AllowOverride All
    Require all granted
</Directory>
""")
    server = ServerProcess("apache2", [apache, "-d", str(root), "-f", str(root / "apache.conf"), "-DFOREGROUND"],
                           port, 20)
    yield server
    server.stop()


def _w3id(server, path: str, **headers: str) -> requests.Response:
    return requests.get(server.url(f"/kazdata/{path}"), headers=headers, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("media_type", [t for fmt in (*GRAPH_FORMATS.values(), HTML) for t in fmt.media_types])
def test_w3id_sends_each_media_type_where_the_server_negotiates_it(w3id, client, media_type):
    """For every media type kazdata offers a document in, the w3id redirect names the document the
    server itself chooses for that Accept (its Content-Location)."""
    redirect = _w3id(w3id, "id/place/zhanaozen", Accept=media_type)
    chosen = client.get("/doc/place/zhanaozen", headers={"Accept": media_type})
    assert chosen.status_code == 200
    assert (redirect.status_code, redirect.headers["Location"]) == (303, W3ID_DEPLOYMENT + chosen.headers["Content-Location"])


def test_w3id_leaves_the_rest_to_the_deployment(w3id):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert _w3id(w3id, "id/place/zhanaozen", Accept=browser).headers["Location"].endswith("/doc/place/zhanaozen.html")
    assert _w3id(w3id, "id/place/zhanaozen", Accept="*/*").headers["Location"] == W3ID_DEPLOYMENT + "/doc/place/zhanaozen"
    timegate = _w3id(w3id, "id/place/zhanaozen", **{"Accept-Datetime": "Thu, 03 Dec 2026 00:00:00 GMT"})
    assert (timegate.status_code, timegate.headers["Location"]) == (302, W3ID_DEPLOYMENT + "/id/place/zhanaozen")
    for path in ("", "dataset", "releases/1.0.0/dumps/kazdata.nq", "ontology", "graph/ontology"):
        response = _w3id(w3id, path)
        assert (response.status_code, response.headers["Location"]) == (302, f"{W3ID_DEPLOYMENT}/{path}"), path


@pytest.mark.parametrize("path", ["place/zhanaozen", "event/zhanaozen-shooting-2011-12-16"])
def test_every_entity_page_says_how_to_cite_its_release_and_links_its_history(client, release_dir, path):
    page = client.get(f"/doc/{path}", headers={"Accept": "text/html"}).get_data(as_text=True)
    graph = void(release_dir)
    version = str(graph.value(DATASET, DCAT_VERSION))
    assert _element(page, "citation") == str(graph.value(DATASET, DCTERMS.bibliographicCitation))
    assert f'href="/releases/{version}/doc/{path}"' in page and f'href="/timemap/id/{path}"' in page
    [item] = json.loads(_element(page, "csl-json"))
    assert item["version"] == version and item["URL"] == str(DATASET)


def test_the_timegate_answers_only_what_the_url_limit_lets_through(client):
    """The URL limit (414) comes before time travel: a TimeGate never sees an over-long request."""
    response = client.get("/id/place/" + "a" * 9000, headers={"Accept-Datetime": "Thu, 03 Dec 2026 00:00:00 GMT"})
    assert response.status_code == 414


#: every record the dump holds of what a source said (a figure, a statement, a quotation: any node
#: with words or a number a source gave) that is not traced to an outlet and a published document
UNSOURCED = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX kaz: <https://w3id.org/kazdata/ontology#>
SELECT DISTINCT ?record WHERE {
  { ?record a/rdfs:subClassOf* kaz:Claim } UNION { ?record a schema:Quotation }
  UNION { ?record kaz:reportedValue|kaz:reportedDuration|kaz:wording|schema:text ?said }
  FILTER NOT EXISTS { ?record prov:wasAttributedTo ?outlet ; prov:wasDerivedFrom ?document .
                      ?document schema:publisher ?publisher ; schema:datePublished ?day }
}"""


def test_a_downloaded_dump_has_no_figure_statement_or_quotation_without_its_source(live_server):
    """An archivist downloads the N-Quads dump, checks it against the served SHA256SUMS and asks
    it for every record of what a source said that names no outlet or no dated, published
    document: there is none. The same query finds a record once its source is taken away, so an
    empty answer is not the query's blindness."""
    sums = dict(line.split("  ")[::-1] for line in
                requests.get(live_server.url("/dumps/SHA256SUMS"), timeout=10).text.splitlines())
    dump = requests.get(live_server.url("/dumps/kazdata.nq"), timeout=30).content
    assert hashlib.sha256(dump).hexdigest() == sums["kazdata.nq"]
    store = ox.Store()
    store.load(dump, format=ox.RdfFormat.N_QUADS)
    records = [s["record"] for s in store.query(
        "PREFIX schema: <https://schema.org/> SELECT DISTINCT ?record WHERE { { ?record a schema:Quotation } "
        "UNION { ?record <https://w3id.org/kazdata/ontology#wording> ?w } }", use_default_graph_as_union=True)]
    assert len(records) >= 8  # the article's 4 quotations and its figures
    assert list(store.query("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>" + UNSOURCED,
                            use_default_graph_as_union=True)) == []
    derived = ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom")
    for quad in list(store.quads_for_pattern(records[0], derived, None)):
        store.remove(quad)
    found = [s["record"] for s in store.query("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>" + UNSOURCED,
                                              use_default_graph_as_union=True)]
    assert found == [records[0]]
