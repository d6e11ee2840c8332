"""Path traversal, sent as written: ``requests`` (and browsers) remove ``..`` segments before
sending, so a test through them never sends a traversal. These tests write the request line on a
socket, as an attacker does, against the real server.
"""

from __future__ import annotations

import socket

import pytest

SECRET = b"kazdata-traversal-canary-7f3e"


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send ``GET target`` byte for byte on a new connection; the status and the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    assert response.startswith(b"HTTP/1."), response[:100]
    return int(response.split(b" ", 2)[1]), response


TRAVERSALS = [
    "/doc/../../etc/passwd", "/doc/place/../../../etc/passwd", "/dumps/../../etc/passwd",
    "/dumps/..%2f..%2fetc%2fpasswd", "/dumps/%2e%2e/%2e%2e/etc/passwd", "/doc/place/..%2f..%2f..%2fetc%2fpasswd",
    "/dumps/..\\..\\etc\\passwd", "/dumps/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/static/../../../etc/passwd",
    "/dumps/../../canary.txt", "/dumps/..%2f..%2fcanary.txt", "/doc/place/..%2f..%2f..%2fcanary.txt",
    "/dumps/%252e%252e/%252e%252e/canary.txt", "/dumps/....//....//canary.txt", "/dumps/%c0%ae%c0%ae/canary.txt",
    "/doc/place/zhanaozen/../../../../canary.txt", "//etc/passwd", "/dumps//etc/passwd",
    # to files inside the release that no URL sends as they are
    "/dumps/..%2fvoid.ttl", "/dumps/%2e%2e/docs/entities.tsv", "/doc/place/..%2f..%2fSHA256SUMS", "/doc/../docs/release.json",
]


@pytest.fixture(scope="module")
def canary(release_dir):
    """A file beside the release, where a traversal out of it would land."""
    path = release_dir.parent / "canary.txt"
    path.write_bytes(SECRET)
    yield path
    path.unlink()


def test_the_raw_client_really_sends_dot_segments(live_server):
    """``requests`` turns /dumps/../SHA256SUMS into /SHA256SUMS, which exists; on the socket
    the server sees the dot segments and finds nothing there."""
    import requests
    assert requests.get(live_server.url("/dumps/../SHA256SUMS")).status_code == 200  # normalised by the client
    assert raw_get(live_server.port, "/SHA256SUMS")[0] == 200
    assert raw_get(live_server.port, "/dumps/../SHA256SUMS")[0] == 404


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_traversal_out_of_the_release(live_server, canary, target):
    status, response = raw_get(live_server.port, target)
    assert status in (400, 404), (target, response[:300])
    assert SECRET not in response and b"root:" not in response
    assert b"Traceback" not in response
