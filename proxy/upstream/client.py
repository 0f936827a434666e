"""The upstream HTTP client: pooled keep-alive connections to sellers (pyreqwest).

The only module that opens seller sockets. Every await has a timeout from settings:
connect (in the client), first byte (request sent -> headers), idle (between two
body chunks) and total (the whole exchange). Streamed reads use a zero read buffer
so each upstream chunk is handed over as soon as it arrives.

Failure modes: connect errors and timeouts raise `UpstreamError` (502) with a
message naming the provider and the phase; nothing is retried here. Every URL's address is
checked first (`proxy.egress`) and the request goes through a client pinned to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Final

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    ConnectError,
    ConnectTimeoutError,
    PyreqwestError,
    ReadTimeoutError,
    RequestTimeoutError,
)
from pyreqwest.request import StreamRequest
from pyreqwest.response import Response as UpstreamResponse
from pyreqwest.response import ResponseBodyReader

from proxy.egress import Pin, egress_of
from proxy.errors import UpstreamError
from proxy.settings import ProxySettings

_JSON: Final = "application/json"


def _client(settings: ProxySettings, idle_timeout_s: float | None, pin: Pin | None = None) -> Client:
    builder = (
        ClientBuilder()
        .connect_timeout(timedelta(seconds=settings.connect_timeout_s))
        .pool_idle_timeout(timedelta(seconds=settings.pool_idle_timeout_s))
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .tcp_nodelay(True)
        .error_for_status(False)
        .follow_redirects(False)
        .gzip(False)
        .brotli(False)
        .zstd(False)
        .deflate(False)
        .user_agent("dragonfly-gateway")
    )
    if idle_timeout_s is not None:
        builder = builder.read_timeout(timedelta(seconds=idle_timeout_s))
    if pin is not None:  # connect to the address `proxy.egress` checked, never a fresh lookup
        builder = builder.resolve(pin.host, pin.ip, pin.port)
    return builder.build()


class UpstreamClient:
    """Pooled clients shared by every request of the process.

    Timeouts run in Rust where they can (no Python timer per chunk): the connect timeout
    and, for streams, a read timeout that bounds every silence between two reads (the
    idle timeout). The wait for response headers has its own first-byte timeout; for a
    non-streamed request that covers the whole answer.
    """

    def __init__(self, settings: ProxySettings) -> None:
        self._first_byte_s = settings.first_byte_timeout_s
        self._idle = settings.idle_timeout_s
        self._total = timedelta(seconds=settings.total_timeout_s)
        self._json = _client(settings, None)
        self._streams = _client(settings, settings.idle_timeout_s)
        self._settings = settings
        self._egress = egress_of(settings)
        self._pinned: dict[Pin, tuple[Client, Client]] = {}

    async def _pick(self, url: str, provider: str) -> tuple[Client, Client]:
        """(json, streams) clients for this URL: pinned to its checked address (`proxy.egress`)."""
        if self._egress is None:
            return self._json, self._streams
        pin = await self._egress.pin(url, provider)
        if pin is None:
            return self._json, self._streams
        pair = self._pinned.get(pin)
        if pair is None:
            if len(self._pinned) > 1000:
                self._pinned.clear()
            pair = self._pinned[pin] = (_client(self._settings, None, pin),
                                        _client(self._settings, self._settings.idle_timeout_s, pin))
        return pair

    async def close(self) -> None:
        await self._json.close()
        await self._streams.close()

    async def post_json(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, provider: str
    ) -> tuple[int, bytes, str]:
        """POST and read the whole answer: (status, body, content type)."""
        client = (await self._pick(url, provider))[0]
        request = client.post(url).headers(headers).body_bytes(body).timeout(self._total).build()
        try:
            async with asyncio.timeout(self._first_byte_s):  # one Python timer for the whole answer
                response = await request.send()
                data = await response.bytes()
        except TimeoutError:
            raise UpstreamError(
                f"Upstream provider '{provider}' did not answer within {self._first_byte_s:g}s. Retry later.", "timeout"
            ) from None
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        return response.status, data.to_bytes(), response.get_header("content-type") or _JSON

    async def post_upload(
        self, url: str, headers: Sequence[tuple[str, str]], body: AsyncIterator[bytes], provider: str
    ) -> tuple[int, bytes, str]:
        """POST a streamed body (an upload relayed as it is read) and read the whole answer."""
        client = (await self._pick(url, provider))[0]
        request = client.post(url).headers(headers).body_stream(body).timeout(self._total).build()
        try:
            response = await request.send()  # the total timeout bounds the upload and the answer
            data = await response.bytes()
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        return response.status, data.to_bytes(), response.get_header("content-type") or _JSON

    async def open_stream(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, provider: str
    ) -> UpstreamStream:
        """POST and wait for the response headers; the body is read chunk by chunk."""
        request = (
            (await self._pick(url, provider))[1].post(url)
            .headers(headers)
            .body_bytes(body)
            .timeout(self._total)
            .streamed_read_buffer_limit(0)
            .build_streamed()
        )
        try:
            async with asyncio.timeout(self._first_byte_s):
                response = await request.__aenter__()
        except TimeoutError:
            raise UpstreamError(
                f"Upstream provider '{provider}' sent no response within {self._first_byte_s:g}s. Retry later.",
                "timeout",
            ) from None
        except ReadTimeoutError:
            raise UpstreamError(
                f"Upstream provider '{provider}' sent no response within {self._idle:g}s. Retry later.", "timeout"
            ) from None
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        return UpstreamStream(request, response, self._idle, provider)


class UpstreamStream:
    """An open streamed upstream response. `close()` drops the connection if unfinished."""

    __slots__ = ("_request", "response", "_reader", "_idle", "provider", "_closed")

    def __init__(self, request: StreamRequest, response: UpstreamResponse, idle: float, provider: str) -> None:
        self._request = request
        self.response = response
        self._reader: ResponseBodyReader = response.body_reader
        self._idle = idle
        self.provider = provider
        self._closed = False

    @property
    def status(self) -> int:
        return self.response.status

    def header(self, name: str) -> str | None:
        return self.response.get_header(name)

    async def next_chunk(self) -> bytes | None:
        """The next body chunk as it arrived, or None at the end. Raises UpstreamError."""
        try:
            chunk = await self._reader.read_chunk()  # the client's read timeout bounds silence
        except ReadTimeoutError:
            raise UpstreamError(
                f"Upstream provider '{self.provider}' stalled: nothing for {self._idle:g}s mid-response.", "timeout"
            ) from None
        except RequestTimeoutError:  # pyreqwest reports the total limit as a timeout too
            raise UpstreamError(
                f"Upstream provider '{self.provider}' exceeded the total time limit mid-response."
            ) from None
        except PyreqwestError as exc:
            raise UpstreamError(
                f"Upstream provider '{self.provider}' failed mid-response ({type(exc).__name__})."
            ) from None
        return None if chunk is None else chunk.to_bytes()

    async def read_all(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while (chunk := await self.next_chunk()) is not None and size < limit:
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._request.__aexit__(None, None, None)


def _explain(exc: PyreqwestError, provider: str) -> UpstreamError:
    if isinstance(exc, ConnectTimeoutError | ConnectError):
        return UpstreamError(f"Could not connect to upstream provider '{provider}'. Retry later.", "connect")
    if isinstance(exc, RequestTimeoutError):
        return UpstreamError(f"Upstream provider '{provider}' timed out. Retry later.", "timeout")
    return UpstreamError(f"Upstream provider '{provider}' failed mid-request ({type(exc).__name__}).")
