"""Issue 15's web-side attacks, each against a real ``kazdata serve`` process on loopback.

Every test here failed on the code before its defence (slow bodies froze /doc/, the Host
header reached absolute URLs, a 412 carried the whole dump, ...).
"""

from __future__ import annotations

import http.client
import math
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import LiveServer

DOC = "/doc/article/globalpost-2011-12-19"


@pytest.fixture(scope="module")
def server(release_dir):
    live = LiveServer(release_dir, ["--query-timeout", "3", "--queries-per-client", "2"])
    yield live
    live.stop()


#: the request-body slots of ``server``: 2 web workers x 8 threads, half of them for bodies
BODY_SLOTS = 8


def _refused(answer: bytes) -> bool:
    return answer.startswith(b"HTTP/1.1 429")


def _told(sockets: list[socket.socket], refused: int, seconds: float) -> dict[socket.socket, bytes]:
    """What each of ``sockets`` has been told (looked at, not read: a test may read it after),
    once ``refused`` of them were told 429, or after ``seconds``."""
    told = dict.fromkeys(sockets, b"")
    deadline = time.monotonic() + seconds
    while True:
        readable, _, _ = select.select([s for s, a in told.items() if not a], [], [], 0)
        for sock in readable:
            try:
                told[sock] = sock.recv(200, socket.MSG_PEEK) or b"closed"
            except ConnectionResetError:
                told[sock] = b"reset"
        if sum(map(_refused, told.values())) >= refused or time.monotonic() > deadline:
            return told
        select.select([s for s, a in told.items() if not a], [], [], 0.2)


@contextmanager
def stalled_bodies(server, count: int, refused: int = 0) -> Iterator[list[socket.socket]]:
    """``count`` connections that announce a 100 kB query, send three bytes of it and stop,
    yielded once ``refused`` of them were told 429 (or after 10 s, for the test to judge)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: 100000\r\n\r\nASK")
            sockets.append(sock)
        if refused:  # a wait for the server to have taken them in (a 0.5 s sleep was too short under load)
            _told(sockets, refused, 10)
        else:  # nothing shows from here that a body is held: a head start, which a loaded machine
            time.sleep(0.5)  # may cut short (the test then asks sooner; it cannot fail by it)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_stalled_bodies_leave_documents_and_get_queries_answering(server):
    """40 stalled bodies held every thread of the old server: /doc/ timed out for as long as
    they stayed open. Now they may hold at most half of each worker's threads."""
    with stalled_bodies(server, 40, refused=40 - BODY_SLOTS) as sockets:
        # every body slot held while it asks (the rest refused)
        assert sum(map(_refused, _told(sockets, 0, 0).values())) >= 40 - BODY_SLOTS
        for _ in range(10):
            response = requests.get(server.url(DOC), headers={"Accept": "text/turtle"}, timeout=5)
            assert response.status_code == 200 and b"globalpost" in response.content
        response = requests.get(server.url("/sparql"), params={"query": "ASK { ?s ?p ?o }"},
                                headers={"Accept": "application/sparql-results+json"}, timeout=5)
        assert response.json()["boolean"] is True
        # a body is read by a worker with a free slot, or refused at once (the stalled connections
        # may all have gone to one worker): never left waiting
        posted = requests.post(server.url("/sparql"), data="ASK { ?s ?p ?o }",
                               headers={"Content-Type": "application/sparql-query"}, timeout=5)
        assert posted.status_code == 200 or (posted.status_code == 429 and posted.headers["Retry-After"] == "1"
                                             and "request bodies" in posted.text)
    # once they are gone, bodies are read again
    for _attempt in range(20):
        answered = requests.post(server.url("/sparql"), data="ASK { ?s ?p ?o }",
                                 headers={"Content-Type": "application/sparql-query",
                                          "Accept": "application/sparql-results+json"}, timeout=5)
        if answered.status_code == 200:
            break
        time.sleep(0.25)
    assert answered.status_code == 200 and answered.json()["boolean"] is True


def test_stalled_bodies_beyond_the_slots_are_told_at_once(server):
    """The ones past the slots get a 429 and a closed connection straight away, unread."""
    with stalled_bodies(server, 24, refused=24 - BODY_SLOTS) as sockets:
        answers = list(_told(sockets, 0, 0).values())
    # at most BODY_SLOTS wait, told nothing; the rest are refused
    assert sum(map(_refused, answers)) >= 24 - BODY_SLOTS
    assert all(a == b"" for a in answers if not _refused(a))


def answer_and_close(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """What ``sock`` is told before the server closes it, and after how many seconds."""
    started, answer = time.monotonic(), b""
    while time.monotonic() - started < within:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            chunk = sock.recv(4096)
            if not chunk:
                return answer, time.monotonic() - started
            answer += chunk
    return answer, math.inf


def closing_answers(sockets: list[socket.socket], deadline: float) -> dict:
    """socket -> (what it was told, when it was closed) for those the server closed by ``deadline``."""
    told = {sock: b"" for sock in sockets}
    closed: dict = {}
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in sockets if s not in closed], [], [], 0.2)
        for sock in readable:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                told[sock] += chunk
            else:
                closed[sock] = (told[sock], time.monotonic())
    return closed


def assert_a_posted_query_is_answered(server) -> None:
    """A POSTed query gets its answer: the body slots and threads the stalled bodies held are free."""
    on_time = requests.post(server.url("/sparql"), data="ASK { ?s ?p ?o }", timeout=10,
                            headers={"Content-Type": "application/sparql-query",
                                     "Accept": "application/sparql-results+json"})
    assert on_time.status_code == 200 and on_time.json()["boolean"] is True


@pytest.mark.parametrize("http_server", ["gunicorn", "granian-rsgi"])
def test_a_body_late_past_the_deadline_gets_408_and_frees_its_thread(release_dir, http_server):
    """One worker of two threads: one body slot. A stalled body used to hold it (and its thread)
    for as long as the client kept the connection open; now it is told 408 after --body-timeout
    and closed, and the next stalled body gets the slot and the same answer (not a 429). Under
    gunicorn the gate reads the socket against the deadline; under granian's RSGI interface the
    bridge awaits the body under it (kazdata.web.rsgi)."""
    server = LiveServer(release_dir, ["--server", http_server, "--workers", "1", "--threads", "2",
                                      "--body-timeout", "1"])
    try:
        for _ in range(2):
            sent = time.monotonic()
            with stalled_bodies(server, 1) as (sock,):
                answer, _after = answer_and_close(sock, 15)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"did not arrive within 1 s" in answer
            assert 0.9 < time.monotonic() - sent < 12
        assert_a_posted_query_is_answered(server)
    finally:
        server.stop()


def test_under_rsgi_200_stalled_bodies_are_all_closed_by_the_deadline_and_documents_answer(release_dir):
    """granian's WSGI interface reads a body where nothing can time it out (decision 013): 200
    stalled bodies stay open for as long as their clients like. Behind the RSGI bridge each is
    closed by the deadline, with a 408 (or, past the body slots, a 429 at once), /doc/ answers
    all the while, and a POST query is answered once they are gone. (Latency under this attack:
    bench/interfaces.py and docs/benchmarks.md.)"""
    server = LiveServer(release_dir, ["--server", "granian-rsgi", "--body-timeout", "2"])
    try:
        sent = time.monotonic()
        with stalled_bodies(server, 200) as sockets:
            for _ in range(10):
                response = requests.get(server.url(DOC), headers={"Accept": "text/turtle"}, timeout=5)
                assert response.status_code == 200 and b"globalpost" in response.content
            answers = closing_answers(sockets, sent + 2 + 15)
        assert len(answers) == 200, f"{200 - len(answers)} stalled bodies were never closed"
        statuses = sorted({answer[:12] for answer, _at in answers.values()})
        assert statuses in ([b"HTTP/1.1 408"], [b"HTTP/1.1 408", b"HTTP/1.1 429"]), statuses
        late = [(answer, at) for answer, at in answers.values() if answer.startswith(b"HTTP/1.1 408")]
        assert all(b"did not arrive within 2 s" in answer and at - sent > 1.9 for answer, at in late)
        assert_a_posted_query_is_answered(server)
    finally:
        server.stop()


def test_a_failed_if_match_on_a_dump_sends_no_body(server):
    """Werkzeug kept the whole file as the body of its 412."""
    response = requests.get(server.url("/dumps/kazdata.ttl"), headers={"If-Match": '"nope"',
                                                                       "Accept-Encoding": "identity"}, timeout=10)
    assert response.status_code == 412
    assert response.content == b""
    assert response.headers["Content-Length"] == "0"


def test_a_matching_if_match_still_gets_the_dump(server, release_dir):
    url = server.url("/dumps/kazdata.ttl")
    etag = requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=10).headers["ETag"]
    response = requests.get(url, headers={"If-Match": etag, "Accept-Encoding": "identity"}, timeout=10)
    assert response.status_code == 200
    assert response.content == (release_dir / "dumps" / "kazdata.ttl").read_bytes()


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=0-10,20-30", "bytes=5-2", "items=0-5", "bytes=-"])
def test_a_range_header_that_is_not_one_byte_range_is_ignored(server, release_dir, header):
    """RFC 9110 section 14.2: ignore a Range that cannot be parsed or is not supported; it was a 416."""
    response = requests.get(server.url("/dumps/kazdata.ttl"), headers={"Range": header,
                                                                       "Accept-Encoding": "identity"}, timeout=10)
    assert response.status_code == 200
    assert response.content == (release_dir / "dumps" / "kazdata.ttl").read_bytes()


def test_one_range_is_still_served_and_one_past_the_end_refused(server, release_dir):
    whole = (release_dir / "dumps" / "kazdata.ttl").read_bytes()
    url = server.url("/dumps/kazdata.ttl")
    part = requests.get(url, headers={"Range": "bytes=10-19", "Accept-Encoding": "identity"}, timeout=10)
    assert part.status_code == 206 and part.content == whole[10:20]
    past = requests.get(url, headers={"Range": f"bytes={len(whole) + 10}-", "Accept-Encoding": "identity"},
                        timeout=10)
    assert past.status_code == 416


def test_close_matches_come_from_the_index_in_bounded_work(tmp_path):
    """At 10^6 triples a 404 compared the wanted name with every name (seconds of CPU); the
    index ranks at most MAX_CANDIDATES names, however many the release has."""
    from kazdata.release import name_index
    from kazdata.release.name_index import NameIndex, write_name_index
    names = {f"event {n} strike in the oil field": (f"event/e{n}", f"Event {n}") for n in range(60_000)}
    names["zhanaozen shooting"] = ("event/zhanaozen-shooting", "Zhanaozen shooting")
    write_name_index(tmp_path / "names.idx", names)
    index = NameIndex.open(tmp_path / "names.idx")
    ranked = []
    original = name_index.difflib.SequenceMatcher.set_seq1

    def counting(self, a):
        ranked.append(a)
        return original(self, a)

    name_index.difflib.SequenceMatcher.set_seq1 = counting  # type: ignore[method-assign]
    try:
        assert index.close_matches("zhanaozen shootng")[0] == ("event/zhanaozen-shooting", "Zhanaozen shooting")
        index.close_matches("event 123 strike in the oil feld")
    finally:
        name_index.difflib.SequenceMatcher.set_seq1 = original  # type: ignore[method-assign]
    assert 0 < len(ranked) <= 2 * name_index.MAX_CANDIDATES


@pytest.mark.parametrize("wanted", ["aktauu", "mangystau", "kazmunaigas", "police crackdwn", "zhanaozn"])
def test_the_releases_name_index_finds_what_difflib_finds_over_every_name(release_dir, wanted):
    """The index written by the build, against the brute force it replaced: difflib over every
    label and slug of the entity table (read with the csv module, not kazdata's reader)."""
    import csv
    import difflib
    import json

    from kazdata.release.name_index import NAMES, NameIndex
    names = {}
    with (release_dir / "docs" / "entities.tsv").open(encoding="utf-8", newline="") as table:
        for path, entry in csv.reader(table, delimiter="\t", quoting=csv.QUOTE_NONE):
            label = json.loads(entry)["labels"]["en"]
            names[label.lower()] = path
            names[path.rsplit("/", 1)[-1].replace("-", " ")] = path
    best = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.4)
    assert best, wanted
    found = [path for path, _label in NameIndex.open(release_dir / NAMES).close_matches(wanted, 5)]
    assert names[best[0]] in found


def test_the_server_takes_close_matches_from_the_index_the_build_wrote(release_dir, tmp_path):
    """The running server reads docs/names.idx (it no longer indexes the entity table in each
    worker): a release whose index was written with one more name, a valid checksum and all,
    lists that name's entity on a 404 the entity table alone would not lead to."""
    import hashlib
    import shutil

    from kazdata.release.name_index import NAMES, write_name_index
    release = tmp_path / "release"
    shutil.copytree(release_dir, release)
    index_path = release / NAMES
    write_name_index(index_path, {"qqq zzyzx": ("place/aktau", "Aktau")})
    digest = hashlib.sha256(index_path.read_bytes()).hexdigest()
    sums = release / "SHA256SUMS"
    sums.write_text("".join(f"{digest}  {NAMES}\n" if line.endswith(f"  {NAMES}") else line + "\n"
                            for line in sums.read_text().splitlines()))
    server = LiveServer(release, ["--verify", "full"])
    try:
        response = requests.get(server.url("/doc/place/qqq-zzyzy"), headers={"Accept": "text/html"}, timeout=10)
        plain = requests.get(server.url("/doc/place/aktauu"), headers={"Accept": "text/html"}, timeout=10)
    finally:
        server.stop()
    assert response.status_code == 404
    assert 'href="/doc/place/aktau"' in response.text
    assert plain.status_code == 404 and 'href="/doc/place/aktau"' not in plain.text  # the index has no other name


def test_an_html_404_lists_close_matches_from_the_index(server):
    response = requests.get(server.url("/doc/place/aktauu"), headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 404
    assert 'href="/doc/place/aktau"' in response.text


HOSTS = ["evil.example", "EVIL.example", "127.0.0.1:1", "a" * 60 + ".example"]


@pytest.mark.parametrize("host", HOSTS)
def test_the_host_header_never_reaches_an_absolute_url(server, host):
    """The service description, the sitemap and the 308 for '//' paths named whatever host the
    client sent (and the description was cached per host)."""
    headers = {"Host": host}
    description = requests.get(server.url("/sparql"), headers={**headers, "Accept": "text/turtle"}, timeout=10)
    assert "<https://w3id.org/kazdata/sparql>" in description.text and host.lower() not in description.text.lower()
    site_map = requests.get(server.url("/sitemap.xml"), headers=headers, timeout=10)
    assert "<loc>https://w3id.org/kazdata/doc/place/aktau</loc>" in site_map.text
    assert host.lower() not in site_map.text.lower()
    moved = requests.get(server.url("//doc//place/aktau"), headers=headers, allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == "/doc/place/aktau"
    for path in ("/dumps//kazdata.nq", "/static//x"):  # Werkzeug lowercases the host it writes
        moved = requests.get(server.url(path), headers=headers, allow_redirects=False, timeout=10)
        assert moved.status_code in (301, 308) and not moved.headers["Location"].startswith(("http", "//")), path


def test_a_public_url_setting_names_the_site(release_dir):
    live = LiveServer(release_dir, ["--public-url", "https://data.example.org/kz/", "--query-processes", "1"])
    try:
        description = requests.get(live.url("/sparql"), headers={"Accept": "text/turtle", "Host": "evil.example"},
                                   timeout=10)
        assert "<https://data.example.org/kz/sparql>" in description.text
        site_map = requests.get(live.url("/sitemap.xml"), timeout=10).text
        assert "<loc>https://data.example.org/kz/doc/place/aktau</loc>" in site_map
    finally:
        live.stop()


SLOW = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ {' '.join(str(j) for j in range(40))} }}" for i in range(8)) + " }"


def test_a_client_cannot_hold_more_than_its_share_of_query_processes(server):
    """Queries given up by their client at timeout=0.3 ran on to the operator's 3 s limit and
    each held a query process; nothing stopped one client from holding all of them."""
    session = requests.Session()  # one connection, so one web worker (the count was per worker)
    json = {"Accept": "application/sparql-results+json"}
    first_sent = time.monotonic()
    for number in range(2):
        gave_up = session.get(server.url("/sparql"), params={"query": SLOW, "timeout": "0.3"}, headers=json,
                              timeout=10)
        assert gave_up.status_code == 503
        if number == 0:
            first_answered = time.monotonic()
    refusal_sent = time.monotonic()
    refused = session.get(server.url("/sparql"), params={"query": "ASK { ?s ?p ?o }"}, headers=json, timeout=10)
    refusal_received = time.monotonic()
    assert refused.status_code == 429
    # the first query's hold ends 3 s (the server's --query-timeout) after it was admitted, which
    # was between its sending and its answer: Retry-After is the whole seconds left, by this clock
    earliest = max(1, math.ceil(first_sent + 3 - refusal_received))
    latest = math.ceil(first_answered + 3 - refusal_sent)
    assert earliest <= int(refused.headers["Retry-After"]) <= latest
    assert "queries running" in refused.text
    # as a client honouring Retry-After would: by the server's own clock the first hold no longer counts
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    answered = session.get(server.url("/sparql"), params={"query": "ASK { ?s ?p ?o }"}, headers=json, timeout=10)
    assert answered.status_code == 200 and answered.json()["boolean"] is True


def test_queries_that_answer_free_their_hold_at_once(server):
    session = requests.Session()
    for _ in range(6):  # more than the cap of 2, one after another
        answered = session.get(server.url("/sparql"), params={"query": "ASK { ?s ?p ?o }"},
                               headers={"Accept": "application/sparql-results+json"}, timeout=10)
        assert answered.status_code == 200


def test_results_are_bounded_in_bytes_and_flagged(release_dir):
    """10,000 rows of 32 kB each took a web worker to 1 GB: rows alone did not bound a reply."""
    live = LiveServer(release_dir, ["--result-bytes", "100000", "--query-processes", "1"])
    try:
        wide = ("SELECT ?x WHERE { VALUES ?n { " + " ".join(str(n) for n in range(1, 21)) + " } "
                'BIND(CONCAT(STR(?n), "' + "y" * 10_000 + '") AS ?x) }')
        response = requests.post(live.url("/sparql"), data={"query": wide},  # a GET URL that long is a 414
                                headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert response.status_code == 200
        rows = response.json()["results"]["bindings"]
        assert 0 < len(rows) <= 10  # 20 rows of 10 kB each, 100 kB allowed
        assert response.headers["X-Kazdata-Truncated"].startswith("true")
        small = requests.get(live.url("/sparql"), params={"query": "SELECT ?n WHERE { VALUES ?n { 1 2 3 } }"},
                             headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert len(small.json()["results"]["bindings"]) == 3 and "X-Kazdata-Truncated" not in small.headers
    finally:
        live.stop()


def test_results_are_bounded_in_bytes_without_query_processes_too(release_dir):
    """``--result-bytes`` holds where queries run in the web worker's own threads (``--dev``,
    ``--query-processes 0``), not only in query processes."""
    from kazdata.settings import load_settings
    from kazdata.web.app import create_app
    app = create_app(load_settings({"release": release_dir, "query_processes": 0, "result_bytes": 100000},
                                   environ={}))
    wide = ("SELECT ?x WHERE { VALUES ?n { " + " ".join(str(n) for n in range(1, 21)) + " } "
            'BIND(CONCAT(STR(?n), "' + "y" * 10_000 + '") AS ?x) }')
    response = app.test_client().post("/sparql", data={"query": wide},
                                      headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert 0 < len(response.get_json()["results"]["bindings"]) <= 10  # 20 rows of 10 kB, 100 kB allowed
    assert response.headers["X-Kazdata-Truncated"].startswith("true")


def _worker_holding(server: LiveServer, connection: http.client.HTTPConnection) -> int | None:
    """The pid of the web worker that holds the server's end of ``connection`` (found by its
    socket's inode: ``/proc/net/tcp`` by the client's address and port, then each worker's
    descriptors), None if no worker holds it."""
    def tcp_table(address: str, port: int) -> str:  # as the kernel prints it: the address's bytes, the port
        return f"{int.from_bytes(socket.inet_aton(address), 'little'):08X}:{port:04X}"

    remote, local = tcp_table(*connection.sock.getsockname()), tcp_table("127.0.0.1", server.port)
    inode = next((line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                  if line.split()[1:3] == [local, remote]), None)
    for worker in server.processes()["workers"]:
        try:
            if any(os.readlink(f"/proc/{worker}/fd/{fd}") == f"socket:[{inode}]"
                   for fd in os.listdir(f"/proc/{worker}/fd")):
                return worker
        except OSError:
            continue
    return None


def _on_distinct_workers(server: LiveServer, count: int, source: str = "127.0.0.1") -> list[http.client.HTTPConnection]:
    """``count`` keep-alive connections from ``source``, each held by a different web worker."""
    held: dict[int, http.client.HTTPConnection] = {}
    for _ in range(60):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20, source_address=(source, 0))
        connection.request("GET", DOC)
        assert connection.getresponse().read()
        worker = _worker_holding(server, connection)
        if worker is None or worker in held:
            connection.close()
        else:
            held[worker] = connection
        if len(held) == count:
            return list(held.values())
    raise AssertionError(f"60 connections reached only {len(held)} distinct web workers")


def _ask(connection: http.client.HTTPConnection, query: str, **params: str) -> http.client.HTTPResponse:
    connection.request("GET", "/sparql?" + urlencode({"query": query, **params}),
                       headers={"Accept": "application/sparql-results+json"})
    response = connection.getresponse()
    response.read()
    return response


#: the time limit of ``three_workers``: the given-up query's hold and the waiting one's overlap
#: from the waiting one's first second to the given-up one's limit, and every check of the cap
#: test falls in that overlap. With 6 s, a loaded machine (-n 3 beside a busy loop) handed the
#: waiting query on more than 2.7 s after it was sent, and the overlap was over before it began.
CAP_LIMIT = 10


@pytest.fixture(scope="module")
def three_workers(release_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("access") / "access.log"
    live = LiveServer(release_dir, ["--workers", "3", "--queries-per-client", "2", "--query-timeout", str(CAP_LIMIT),
                                    "--access-log", str(log)])
    live.log = log
    yield live
    live.stop()


def test_the_cap_holds_over_every_web_worker_and_for_one_client_only(three_workers):
    """Each web worker counted its own: a client whose connections reached three workers held
    three query processes under a cap of two. The supervisor counts them all."""
    server = three_workers
    first, second, third = _on_distinct_workers(server, 3)
    started = time.monotonic()
    given_up = _ask(first, SLOW, timeout="0.3")  # runs on in its process until the limit
    given_up_at = time.monotonic()
    assert given_up.status == 503
    running: dict = {}
    waiting = threading.Thread(target=lambda: running.update(answer=_ask(second, SLOW)))
    waiting.start()  # its client waits: it counts once it has run 1 s
    time.sleep(1.2)  # not a wait for it: it cannot count sooner, and asking before would only add load
    asked = time.monotonic()
    refused = _ask(third, "ASK { ?s ?p ?o }")
    # a wait for the waiting query to count, however late a loaded machine hands it on, which
    # leaves 3 s of the given-up query's hold (it ends CAP_LIMIT after ``started`` at the
    # earliest) for the checks below
    while refused.status == 200 and time.monotonic() < started + CAP_LIMIT - 3:
        time.sleep(0.2)
        asked = time.monotonic()
        refused = _ask(third, "ASK { ?s ?p ?o }")
    answered = time.monotonic()
    assert refused.status == 429
    # Retry-After: whole seconds until the first hold ends, the given-up query's, which the limit
    # ends between CAP_LIMIT after it was sent and CAP_LIMIT after its 503 came back
    assert (math.ceil(started + CAP_LIMIT - answered) <= int(refused.getheader("Retry-After"))
            <= math.ceil(given_up_at + CAP_LIMIT - asked))
    other = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20, source_address=("127.0.0.2", 0))
    assert _ask(other, "ASK { ?s ?p ?o }").status == 200  # another client is not held back
    assert _ask(third, "ASK { ?s ?p ?o }").status == 429  # the given-up query still holds its process
    waiting.join(CAP_LIMIT + 10)
    assert running["answer"].status == 503  # killed at the limit, its process free
    for connection in (first, second, third):
        assert _ask(connection, "ASK { ?s ?p ?o }").status == 200  # the count is back to none
    assert any(line.startswith("127.0.0.2 ") for line in server.log.read_text().splitlines())


def test_with_a_remote_store_each_web_worker_counts_its_clients(release_dir):
    """No query supervisor sees a remote store's queries, and the store runs a query whose
    client gave up on until its own limit: there the web worker's own count is the cap."""
    store = LiveServer(release_dir, ["--workers", "1", "--query-timeout", "3", "--queries-per-client", "0"])
    try:
        server = LiveServer(release_dir, ["--workers", "1", "--backend", "remote", "--endpoint",
                                          store.url("/sparql"), "--query-timeout", "3", "--queries-per-client", "1"])
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
            assert _ask(connection, SLOW, timeout="0.3").status == 503
            refused = _ask(connection, "ASK { ?s ?p ?o }")
            assert refused.status == 429 and 1 <= int(refused.getheader("Retry-After")) <= 3
            other = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20, source_address=("127.0.0.2", 0))
            assert _ask(other, "ASK { ?s ?p ?o }").status == 200
        finally:
            server.stop()
    finally:
        store.stop()
