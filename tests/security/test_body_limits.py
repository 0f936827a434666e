"""A 1 GiB chunked body to any path, through the proxy and to the control plane directly, is
refused (413 in the documented shape, or an answer that never reads it) without the serving
processes' memory growing more than a few MiB."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.security.conftest import Stack

GIB = 1 << 30
CHUNK = b"x" * (64 * 1024)
_GROWTH_LIMIT = 8 * 1024 * 1024  # "a few MiB": far below the 64 KiB-limit bodies it must not hold
_STOP = 64 * 1024 * 1024  # a server still reading after this much is not enforcing a 64 KiB limit while reading


def _rss(pid: int) -> int:
    """Resident memory of a process and its children (Granian serves from a worker child), bytes."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
        pids += [int(c) for c in children]
    return total


def _chunks() -> Iterator[bytes]:
    """1 GiB as chunked transfer-encoding frames, generated (bounded count), never held."""
    frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    for _ in range(GIB // len(CHUNK)):
        yield frame
    yield b"0\r\n\r\n"


def _send_gib(port: int, method: str, path: str, headers: str = "") -> tuple[int, bytes, int]:
    """Send the body until the server answers or closes; (status, body, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    try:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n{headers}\r\n".encode())
        for frame in _chunks():
            readable, _, _ = select.select([sock], [], [], 0)
            if readable or sent > _STOP:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(frame)
        if sent > _STOP:
            return 0, b"", sent
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw) < _declared_end(raw):
            part = sock.recv(65536)
            if not part:
                break
            raw += part
    finally:
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body, sent


def _declared_end(raw: bytes) -> int:
    head, _, _ = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value.strip())
    return len(raw) + 1 if b"\r\n0\r\n\r\n" not in raw and b"transfer-encoding" in head.lower() else len(raw)


# (where, method, path, answer): paths that take a body refuse it with 413 while reading; paths that
# never read one answer without reading it (the unauthenticated 401 comes from the headers alone)
CASES = [
    ("proxy", "POST", "/api/auth/login", 413),
    ("proxy", "POST", "/api/auth/signup", 413),
    ("proxy", "POST", "/v1/market/listings", 413),
    ("proxy", "PUT", "/api/no-such-path", 413),
    ("proxy", "POST", "/v1/chat/completions", 401),
    ("proxy", "POST", "/healthz", 404),
    ("control", "POST", "/api/auth/login", 413),
    ("control", "POST", "/api/auth/signup", 413),
    ("control", "POST", "/api/keys", 401),
    ("control", "POST", "/api/no-such-path", 404),
    ("control", "GET", "/healthz", 200),
]


@pytest.mark.parametrize(("target", "method", "path", "answer"), CASES)
def test_a_gib_chunked_body_is_refused_without_memory_growth(stack: Stack, target: str, method: str,
                                                              path: str, answer: int) -> None:
    server = stack.proxy if target == "proxy" else stack.control
    before = _rss(server.proc.pid)
    status, body, sent = _send_gib(server.port, method, path)
    grown = _rss(server.proc.pid) - before
    assert sent < _STOP, f"the server was still reading after {sent:,} bytes"
    assert grown < _GROWTH_LIMIT, f"memory grew {grown / 1e6:.1f} MB"
    assert status == answer, (status, body[:300])
    if status in (401, 404, 413):
        error = orjson.loads(body)["error"]
        assert set(error) == {"message", "type", "code"} and error["code"] == status
    if status == 413:
        assert "limit" in error["message"]
