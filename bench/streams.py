"""A small raw-socket asyncio SSE client: time to first content chunk, and holding many streams open.

Python is fine here: first-chunk delay is reported as a delta between targets measured by the same client,
never as a throughput figure (wrk measures those).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

_CONTENT = re.compile(rb'"content":"[^"]')


@dataclass(frozen=True)
class Target:
    url: str
    body: bytes
    auth: str = ""

    def request(self) -> tuple[str, int, bytes]:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        head = [
            f"POST {parts.path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(self.body)}", "Accept: text/event-stream", "Connection: close",
        ]
        if self.auth:
            head.append(f"Authorization: {self.auth}")
        return host, port, ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


async def first_chunk_ms(target: Target) -> float:
    """Milliseconds from sending the request to receiving the first non-empty content delta; reads to EOF."""
    host, port, raw = target.request()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        buf = b""
        t0 = time.perf_counter()
        writer.write(raw)
        first: float | None = None
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if first is None:
                buf += data
                if _CONTENT.search(buf):
                    first = (time.perf_counter() - t0) * 1000
                    buf = b""
                elif not buf.startswith(b"HTTP/1.1 200"):
                    if len(buf) > 12:
                        raise RuntimeError(f"{target.url}: {buf[:300]!r}")
        if first is None:
            raise RuntimeError(f"{target.url}: stream ended without a content chunk")
        return first
    finally:
        writer.close()


async def first_chunk_samples(target: Target, count: int, concurrency: int) -> list[float]:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> float:
        async with sem:
            return await first_chunk_ms(target)

    return list(await asyncio.gather(*(one() for _ in range(count))))


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


class OpenStreams:
    """`count` SSE streams held open (each has delivered its first content chunk) until `close()`."""

    def __init__(self) -> None:
        self._writers: list[asyncio.StreamWriter] = []
        self._drains: list[asyncio.Task[None]] = []

    async def open(self, target: Target, count: int, batch: int = 100) -> None:
        host, port, raw = target.request()

        async def one() -> None:
            reader, writer = await asyncio.open_connection(host, port)
            self._writers.append(writer)
            writer.write(raw)
            buf = b""
            while not _CONTENT.search(buf):
                data = await reader.read(65536)
                if not data:
                    raise RuntimeError(f"{target.url}: closed before the first chunk: {buf[:300]!r}")
                buf += data
            self._drains.append(asyncio.create_task(_drain(reader)))

        for start in range(0, count, batch):
            await asyncio.wait_for(asyncio.gather(*(one() for _ in range(min(batch, count - start)))), 60)

    async def close(self) -> None:
        for task in self._drains:
            task.cancel()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._drains, return_exceptions=True)
        self._writers.clear()
        self._drains.clear()


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass
