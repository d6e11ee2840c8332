"""Two real releases, end to end: built and published with the command line, served by a real
server, read with real clients (requests, rdflib, pyoxigraph, ElementTree).

The second release adds the tests' second-source fixture and renames one event; what it must
say changed is written here from those two edits (the fixture file parsed by rdflib, the one
name written by hand), not read from the change set under test. The history's versioned URLs
are checked against the bytes of the two build folders, hashed with hashlib.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Literal, Namespace, URIRef

from kazdata.sources import bundled
from tests.conftest import KAZDATA, LiveServer, require_debian_package
from tests.test_browser import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "second-source" / "example-wire-2011-12-20.ttl"
BASE = "https://w3id.org/kazdata/"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")
ATOM = "{http://www.w3.org/2005/Atom}"
FIRST, SECOND = ("1.0.0", "2026-12-03"), ("1.1.0", "2026-12-10")
RENAMED = "event/shetpe-railway-blockade-2011-12-17"
OLD_NAME, NEW_NAME = "Railway blockade in Shetpe, 17 December 2011", "Railway blockade at Shetpe, 17 December 2011"
ONLY_IN_SECOND = "claim/zhanaozen-shooting-deaths-example-wire"
BEFORE, BETWEEN, AFTER = "Sat, 01 Jan 2000 00:00:00 GMT", "Sat, 05 Dec 2026 12:00:00 GMT", "Fri, 01 Jan 2027 00:00:00 GMT"


def kazdata(*args: str | Path) -> subprocess.CompletedProcess:
    result = subprocess.run([*KAZDATA, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two builds, both published to one link (so both are kept), and a server on the link."""
    root = tmp_path_factory.mktemp("history")
    sources = root / "sources"
    shutil.copytree(bundled.sources_dir(), sources)
    shutil.copy(FIXTURE, sources / FIXTURE.name)
    source = sources / "globalpost-2011-12-19.ttl"
    text = source.read_text(encoding="utf-8")
    assert text.count(f'schema:name "{OLD_NAME}"@en') == 1
    source.write_text(text.replace(f'schema:name "{OLD_NAME}"@en', f'schema:name "{NEW_NAME}"@en'), encoding="utf-8")
    kazdata("build", root / "build-1")
    kazdata("build", root / "build-2", "--sources", sources, "--version", SECOND[0], "--issued", SECOND[1],
            "--previous", root / "build-1")
    link = root / "current"
    kazdata("publish", root / "build-1", "--to", link)
    kazdata("publish", root / "build-2", "--to", link)
    server = _our_server(link)
    yield root, server
    server.stop()


def _our_server(link: Path) -> LiveServer:
    """A server on ``link`` that is really ours: on this shared machine another test run can take
    the port between the free-port check and our bind, and then answer in our place."""
    for _ in range(5):
        try:
            server = LiveServer(link)
        except RuntimeError:  # it exited: the port was taken after all
            continue
        try:
            answer = requests.get(server.url("/releases/"), headers={"Accept": "text/turtle"}, timeout=30).text
        except requests.RequestException:
            answer = ""
        if server.process.poll() is None and f"{BASE}releases/1.0.0" in answer and "1.1.0" in answer:
            return server
        server.stop()
    raise RuntimeError("no server of ours could be started on a free port")


def get(server: LiveServer, path: str, **headers: str) -> requests.Response:
    return requests.get(server.url(path), headers=headers, allow_redirects=False, timeout=30)


def test_both_releases_are_kept_and_served_at_their_versioned_urls(history):
    root, server = history
    assert json.loads((root / "releases" / "history.json").read_text())["releases"][0]["version"] == FIRST[0]
    for version, build in ((FIRST[0], "build-1"), (SECOND[0], "build-2")):
        for name in ("kazdata.nq", "kazdata.ttl.gz"):
            response = get(server, f"/releases/{version}/dumps/{name}", **{"Accept-Encoding": "identity"})
            assert response.status_code == 200, (version, name)
            assert response.content == (root / build / "dumps" / name).read_bytes(), (version, name)
        sums = get(server, f"/releases/{version}/SHA256SUMS")
        lines = sums.text.splitlines()
        assert any(line.endswith("  dumps/kazdata.nq") for line in lines)
        for line in lines:  # every line names a URL under /releases/{version}/ whose bytes it hashes
            digest, path = line.split("  ")
            body = get(server, f"/releases/{version}/{path}", **{"Accept-Encoding": "identity"}).content
            assert hashlib.sha256(body).hexdigest() == digest, (version, path)
    latest = get(server, "/dumps/kazdata.nq", **{"Accept-Encoding": "identity"}).content
    assert latest == (root / "build-2" / "dumps" / "kazdata.nq").read_bytes()


def test_an_unknown_version_is_404_listing_the_kept_ones(history):
    _, server = history
    for path in ("/releases/0.9.0", "/releases/0.9.0/dumps/kazdata.nq", "/releases/0.9.0/SHA256SUMS",
                 "/releases/0.9.0/doc/place/zhanaozen", "/releases/0.9.0/changes"):
        response = get(server, path, Accept="text/plain")
        assert response.status_code == 404, path
        assert "0.9.0" in response.text and "1.0.0, 1.1.0" in response.text, (path, response.text)
    assert get(server, f"/releases/{FIRST[0]}").headers["Location"] == f"/releases/{FIRST[0]}/dataset"
    assert get(server, f"/releases/{SECOND[0]}").headers["Location"] == "/dataset"


def test_the_series_in_rdf_and_as_an_atom_feed(history):
    _, server = history
    graph = Graph().parse(data=get(server, "/releases/", Accept="text/turtle").text, format="turtle")
    dataset, one, two = URIRef(BASE + "dataset"), URIRef(BASE + "releases/1.0.0"), URIRef(BASE + "releases/1.1.0")
    assert set(graph.objects(dataset, DCAT.hasVersion)) == {one, two}
    assert (two, DCAT.previousVersion, one) in graph and (dataset, DCAT.hasCurrentVersion, two) in graph
    assert (one, DCAT.version, Literal("1.0.0")) in graph
    feed = ET.fromstring(get(server, "/releases/", Accept="application/atom+xml").content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [BASE + "releases/1.1.0", BASE + "releases/1.0.0"]
    # the fixture adds 3 entities (article, organisation, claim) and one entity is renamed
    assert "3 entities added, 0 removed, 1 changed" in entries[0].find(f"{ATOM}summary").text
    page = get(server, "/releases/", Accept="text/html")
    assert 'href="/releases/1.0.0/dumps/kazdata.nq"' in page.text and 'href="/releases/1.1.0/changes"' in page.text


def test_each_document_names_the_versioned_dataset_it_belongs_to(history):
    _, server = history
    for path, version in (("/doc/place/zhanaozen.nt", SECOND[0]), (f"/releases/{FIRST[0]}/doc/place/zhanaozen.nt", FIRST[0])):
        graph = Graph().parse(data=get(server, path).text, format="nt")
        assert set(graph.objects(URIRef(BASE + "doc/place/zhanaozen"), VOID.inDataset)) == {
            URIRef(BASE + f"releases/{version}")}, path


def _quads(data: bytes) -> set[ox.Quad]:
    return set(ox.parse(data, format=ox.RdfFormat.N_QUADS))


def test_the_change_set_holds_exactly_the_two_edits(history):
    root, server = history
    graph = f"{BASE}graph/example-wire-2011-12-20"
    expected = {ox.Quad(ox.NamedNode(str(s)), ox.NamedNode(str(p)), _ox_term(o), ox.NamedNode(graph))
                for s, p, o in Graph().parse(FIXTURE, format="turtle")}
    added = _quads(get(server, "/releases/1.1.0/changes/example-wire-2011-12-20.added.nq").content)
    assert added == expected
    renamed, name = ox.NamedNode(BASE + "id/" + RENAMED), ox.NamedNode("https://schema.org/name")
    source_graph = ox.NamedNode(f"{BASE}graph/globalpost-2011-12-19")
    assert _quads(get(server, "/releases/1.1.0/changes/globalpost-2011-12-19.removed.nq").content) == {
        ox.Quad(renamed, name, ox.Literal(OLD_NAME, language="en"), source_graph)}
    assert _quads(get(server, "/releases/1.1.0/changes/globalpost-2011-12-19.added.nq").content) == {
        ox.Quad(renamed, name, ox.Literal(NEW_NAME, language="en"), source_graph)}
    summary = get(server, "/releases/1.1.0/changes", Accept="application/json").json()
    assert summary["counts"] == {"added": 3, "removed": 0, "changed": 1} and summary["previous"] == FIRST[0]
    assert summary["triples"] == {"added": len(expected) + 1, "removed": 1}
    rows = get(server, "/releases/1.1.0/changes/entities.tsv").text.splitlines()
    statuses = {row.split("\t")[0]: json.loads(row.split("\t", 1)[1])["status"] for row in rows}
    assert statuses == {RENAMED: "changed", ONLY_IN_SECOND: "added", "article/example-wire-2011-12-20": "added",
                        "organization/example-wire": "added"}
    page = get(server, "/releases/1.1.0/changes", Accept="text/html").text
    assert NEW_NAME in page and OLD_NAME in page and RENAMED in page


def _ox_term(term) -> ox.NamedNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))


def test_the_rdf_patch_turns_the_first_release_into_the_second(history):
    root, server = history
    patch = get(server, "/releases/1.1.0/changes", Accept="application/rdf-patch")
    assert patch.headers["Content-Type"].startswith("application/rdf-patch")
    lines = patch.content.splitlines(keepends=True)
    assert lines[0].startswith(b"H id ") and lines[2] == b"TX .\n" and lines[-1] == b"TC .\n"
    quads = _quads((root / "build-1" / "dumps" / "kazdata.nq").read_bytes())
    deleted = _quads(b"".join(line[2:] for line in lines if line.startswith(b"D ")))
    added = _quads(b"".join(line[2:] for line in lines if line.startswith(b"A ")))
    assert deleted and added
    assert (quads - deleted) | added == _quads((root / "build-2" / "dumps" / "kazdata.nq").read_bytes())


@pytest.mark.parametrize(("moment", "version"), [(BEFORE, FIRST[0]), (BETWEEN, FIRST[0]),
                                                 ("Thu, 10 Dec 2026 00:00:00 GMT", SECOND[0]), (AFTER, SECOND[0])])
def test_the_timegate_sends_the_memento_current_at_a_date(history, moment, version):
    _, server = history
    response = get(server, "/id/place/zhanaozen", **{"Accept-Datetime": moment})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/releases/{version}/doc/place/zhanaozen"
    assert "accept-datetime" in response.headers["Vary"].lower()
    dataset = get(server, "/dataset", **{"Accept-Datetime": moment})
    assert (dataset.status_code, dataset.headers["Location"]) == (302, f"/releases/{version}/dataset")


def test_an_entity_added_later_goes_to_its_first_memento_and_has_one(history):
    _, server = history
    response = get(server, f"/id/{ONLY_IN_SECOND}", **{"Accept-Datetime": BETWEEN})
    assert response.headers["Location"] == f"/releases/1.1.0/doc/{ONLY_IN_SECOND}"
    timemap = get(server, f"/timemap/id/{ONLY_IN_SECOND}").text
    assert f'<{BASE}releases/1.1.0/doc/{ONLY_IN_SECOND}>;rel="first last memento"' in timemap
    assert "1.0.0" not in timemap
    assert get(server, f"/releases/1.0.0/doc/{ONLY_IN_SECOND}").status_code == 404


@pytest.mark.parametrize("value", ["yesterday", "2026-12-05", "Thu, 32 Dec 2026 00:00:00 GMT", ""])
def test_an_accept_datetime_that_is_not_a_date_is_400_with_a_message(history, value):
    _, server = history
    response = get(server, "/id/place/zhanaozen", Accept="text/plain", **{"Accept-Datetime": value})
    assert response.status_code == 400
    assert "Accept-Datetime must be an HTTP date" in response.text and "Traceback" not in response.text


def test_a_memento_says_when_it_is_from_and_where_its_neighbours_are(history):
    _, server = history
    response = get(server, "/releases/1.0.0/doc/place/zhanaozen.ttl")
    assert response.status_code == 200
    assert response.headers["Memento-Datetime"] == "Thu, 03 Dec 2026 00:00:00 GMT"
    links = requests.utils.parse_header_links(response.headers["Link"])
    rels = {link["rel"]: link["url"] for link in links}
    assert rels["original timegate"] == BASE + "id/place/zhanaozen"
    assert rels["timemap"] == "/timemap/id/place/zhanaozen"
    assert rels["first memento"] == "/releases/1.0.0/doc/place/zhanaozen"
    assert rels["last next memento"] == "/releases/1.1.0/doc/place/zhanaozen"
    renamed = get(server, f"/releases/1.0.0/doc/{RENAMED}.nt").text
    assert OLD_NAME in renamed and NEW_NAME not in renamed
    assert NEW_NAME in get(server, f"/releases/1.1.0/doc/{RENAMED}.nt").text


def test_the_timemap_lists_both_mementos_in_link_format_and_rdf(history):
    _, server = history
    response = get(server, f"/timemap/id/{RENAMED}")
    assert response.headers["Content-Type"].startswith("application/link-format")
    links = {link["url"]: link for link in requests.utils.parse_header_links(response.text.replace("\n", ""))}
    assert links[f"{BASE}releases/1.0.0/doc/{RENAMED}"]["datetime"] == "Thu, 03 Dec 2026 00:00:00 GMT"
    assert links[f"{BASE}releases/1.1.0/doc/{RENAMED}"]["rel"] == "last memento"
    assert links[f"{BASE}id/{RENAMED}"]["rel"] == "original timegate"
    graph = Graph().parse(data=get(server, f"/timemap/id/{RENAMED}", Accept="text/turtle").text, format="turtle")
    prov = Namespace("http://www.w3.org/ns/prov#")
    assert set(graph.subjects(prov.specializationOf, URIRef(f"{BASE}id/{RENAMED}"))) == {
        URIRef(f"{BASE}releases/{v}/doc/{RENAMED}") for v in ("1.0.0", "1.1.0")}
    original = get(server, f"/id/{RENAMED}")
    assert "accept-datetime" in original.headers["Vary"].lower()
    assert f"</timemap/id/{RENAMED}>" in original.headers["Link"]


def test_the_history_page_of_an_entity_shows_what_changed(history):
    _, server = history
    page = get(server, f"/timemap/id/{RENAMED}", Accept="text/html").text
    assert f'href="/releases/1.0.0/doc/{RENAMED}"' in page and f'href="/releases/1.1.0/doc/{RENAMED}"' in page
    assert "changed" in page and NEW_NAME in page


def test_prune_removes_a_version_but_never_the_served_one(history, tmp_path):
    root, _ = history
    link = tmp_path / "served"
    kazdata("publish", root / "build-1", "--to", link)
    kazdata("publish", root / "build-2", "--to", link)
    refused = subprocess.run([*KAZDATA, "prune", "1.1.0", "--to", str(link)], capture_output=True, text=True)
    assert refused.returncode == 1 and "serves version 1.1.0" in refused.stderr
    unknown = subprocess.run([*KAZDATA, "prune", "7.0", "--to", str(link)], capture_output=True, text=True)
    assert unknown.returncode == 1 and "kept: 1.0.0, 1.1.0" in unknown.stderr
    kazdata("prune", "1.0.0", "--to", link)
    assert not (tmp_path / "releases" / "1.0.0").exists() and (tmp_path / "releases" / "1.1.0").is_dir()
    listed = json.loads((tmp_path / "releases" / "history.json").read_text())["releases"]
    assert [entry["version"] for entry in listed] == ["1.1.0"]


def test_a_version_names_one_release_forever(history, tmp_path):
    root, _ = history
    other = tmp_path / "other"
    kazdata("build", other, "--sources", root / "sources")  # version 1.0.0 again, other contents
    link = tmp_path / "served"
    kazdata("publish", root / "build-1", "--to", link)
    refused = subprocess.run([*KAZDATA, "publish", str(other), "--to", str(link)], capture_output=True, text=True)
    assert refused.returncode == 1 and "already published with other contents" in refused.stderr
    assert os.path.realpath(link) == str((tmp_path / "releases" / "1.0.0").resolve())
    assert (tmp_path / "releases" / "1.0.0" / "dumps" / "kazdata.nq").read_bytes() == (
        root / "build-1" / "dumps" / "kazdata.nq").read_bytes()


def test_the_bag_of_a_release_validates_and_says_what_it_is(history, tmp_path):
    import bagit
    root, _ = history
    bag_dir = tmp_path / "bag"
    kazdata("package", root / "build-2", bag_dir, "--contact-email", "archive@example.org")
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # bagit's own validator: every checksum of both manifests, the oxum, the tag files
    assert sorted(bag.algorithms) == ["sha256", "sha512"]
    assert (bag_dir / "manifest-sha512.txt").is_file() and (bag_dir / "tagmanifest-sha256.txt").is_file()
    info = bag.info
    assert info["External-Identifier"] == f"{BASE}releases/1.1.0"
    assert info["Source-Organization"] == "the kazdata project" and info["Contact-Email"] == "archive@example.org"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info["Bagging-Date"])
    files = [path for path in (bag_dir / "data").rglob("*") if path.is_file()]
    assert info["Payload-Oxum"] == f"{sum(path.stat().st_size for path in files)}.{len(files)}"
    payload = (bag_dir / "data" / "dumps" / "kazdata.nq").read_bytes()
    assert payload == (root / "build-2" / "dumps" / "kazdata.nq").read_bytes()
    manifest = dict(reversed(line.split("  ", 1)) for line in (bag_dir / "manifest-sha512.txt").read_text().splitlines())
    assert manifest["data/dumps/kazdata.nq"] == hashlib.sha512(payload).hexdigest()
    for name in ("changes/changes.rdfp", "void.ttl", "shapes.ttl", "ontology.ttl", "CITATION.bib", "README.txt"):
        assert (bag_dir / "data" / name).is_file(), name


def test_a_tampered_bag_is_refused_by_bagit(history, tmp_path):
    import bagit
    root, _ = history
    bag_dir = tmp_path / "bag"
    kazdata("package", root / "build-1", bag_dir)
    target = bag_dir / "data" / "dumps" / "kazdata.nt"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01  # one bit of one byte; the size (and so the Payload-Oxum) stays the same
    target.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError) as refused:
        bagit.Bag(str(bag_dir)).validate()
    assert "data/dumps/kazdata.nt" in str(refused.value.details) or "kazdata.nt" in str(refused.value)


def test_a_tampered_release_is_never_bagged(history, tmp_path):
    root, _ = history
    copy = tmp_path / "copy"
    shutil.copytree(root / "build-1", copy)
    with (copy / "void.ttl").open("ab") as handle:
        handle.write(b"# tampered\n")
    result = subprocess.run([*KAZDATA, "package", str(copy), str(tmp_path / "bag")], capture_output=True, text=True)
    assert result.returncode == 1 and "does not match its checksum" in result.stderr
    assert not (tmp_path / "bag").exists()


@pytest.fixture(scope="module")
def page():
    chromium = require_debian_package("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser.new_context(locale="en-GB").new_page()
        browser.close()


def test_a_person_browses_the_releases_the_changes_and_an_entity_history(page, history):
    """In a browser: the list of releases, a change set, the changed entity, its history, an old version."""
    _, server = history
    page.goto(server.url("/releases/"))
    assert page.locator("tr.release").count() == 2
    assert "1.1.0 (current)" in page.inner_text("table.releases")
    page.click("text=since 1.0.0")
    assert page.url.endswith("/releases/1.1.0/changes")
    changed = page.locator(f"section.entities-changed details[data-path='{RENAMED}']")
    changed.locator("summary").click()
    assert OLD_NAME in changed.inner_text() and NEW_NAME in changed.inner_text()
    assert "organization/example-wire" in page.inner_text("section.entities-added")
    changed.locator(f"a[href='/doc/{RENAMED}']").click()
    page.wait_for_load_state()
    cite = page.inner_text("section.cite")
    assert "release 1.1.0" in cite and "(Version 1.1.0, issued 2026-12-10)" in cite
    page.click("text=History of this entity")
    assert page.url.endswith(f"/timemap/id/{RENAMED}")
    assert "changed" in page.inner_text("table.history")
    page.click(f"a.memento[href='/releases/1.0.0/doc/{RENAMED}']")
    page.wait_for_load_state()
    assert "(Version 1.0.0, issued 2026-12-03)" in page.inner_text("section.cite")
    assert NEW_NAME not in page.inner_text("main")
