"""The upstream HTTP client: pooled keep-alive connections to sellers (pyreqwest).

The only module that opens seller sockets. Every await has a timeout from settings:
connect (in the client), first byte (request sent -> headers), idle (between two
body reads) and total (the whole exchange). Streamed reads use a zero read buffer
so each upstream chunk is handed over as soon as it arrives.

A JSON answer is bounded like a stream, not by one timer over the whole answer: first
byte until its headers, then idle between body reads, however long it takes in total
(within the total timeout) — a slow answer that keeps sending is relayed. Its body is
read up to `DF_UPSTREAM_MAX_JSON_BYTES` (16 MiB): a longer one is a 502 naming the limit
(the seller's failure), never buffered whole.

Failure modes: connect errors and timeouts raise `UpstreamError` (502) with a
message naming the provider and the phase; nothing is retried here. Every URL's address is
checked first (`proxy.egress`) and the request goes through a client pinned to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
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


def _nothing() -> None:
    return None


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
    and, for streams, a read timeout that bounds every silence between two reads (the idle
    timeout). The wait for response headers has its own first-byte timeout. JSON answers
    use the same read timeout when it cannot end the wait for headers before the first-byte
    timeout does (first byte <= idle, the default); otherwise a client without it and one
    Python idle timer moved on per body read (`_read_body`). Uploads use a client without
    the read timeout (the buyer's upload may be slow); the total timeout bounds them.
    """

    def __init__(self, settings: ProxySettings) -> None:
        self._first_byte_s = settings.first_byte_timeout_s
        self._idle = settings.idle_timeout_s
        self._total = timedelta(seconds=settings.total_timeout_s)
        self._max_json = settings.max_upstream_json_bytes
        self._json = _client(settings, None)
        self._streams = _client(settings, settings.idle_timeout_s)
        # JSON answers: when the first-byte timeout is the shorter one, the streams' client (read timeout
        # = idle, in Rust) cannot cut the wait for headers short; else a client without one plus a Python
        # idle timer per body read, so that the first-byte timeout alone bounds the headers.
        rust_idle = settings.first_byte_timeout_s <= settings.idle_timeout_s
        self._rust_idle = rust_idle
        self._python_idle = None if rust_idle else settings.idle_timeout_s
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
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, provider: str,
        answered: Callable[[], None] = _nothing, error_limit: int = 64 * 1024,
    ) -> tuple[int, bytes, str]:
        """POST and read the whole answer: (status, body, content type).

        `answered()` is called when 2xx headers arrived (the request's deadline stops there);
        an error status's body is read up to `error_limit` bytes."""
        json_client, streams_client = await self._pick(url, provider)
        answers = streams_client if self._rust_idle else json_client
        request = (answers.post(url).headers(headers).body_bytes(body).timeout(self._total)
                   .streamed_read_buffer_limit(0).build_streamed())  # else entering reads the body ahead
        try:
            async with asyncio.timeout(self._first_byte_s):
                response = await request.__aenter__()
        except ReadTimeoutError:  # before TimeoutError: pyreqwest's timeouts subclass it
            raise UpstreamError(
                f"Upstream provider '{provider}' sent no response within {self._idle:g}s. Retry later.", "timeout"
            ) from None
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        except TimeoutError:
            raise UpstreamError(
                f"Upstream provider '{provider}' did not answer within {self._first_byte_s:g}s. Retry later.", "timeout"
            ) from None
        try:
            status = response.status
            if status < 300:
                answered()
                data = await self._read_body(response, self._max_json, provider, True, self._python_idle)
            else:
                data = await self._read_body(response, error_limit, provider, False, self._python_idle)
        finally:
            await request.__aexit__(None, None, None)
        return status, data, response.get_header("content-type") or _JSON

    async def post_upload(
        self, url: str, headers: Sequence[tuple[str, str]], body: AsyncIterator[bytes], provider: str
    ) -> tuple[int, bytes, str]:
        """POST a streamed body (an upload relayed as it is read) and read the whole answer."""
        client = (await self._pick(url, provider))[0]
        request = (client.post(url).headers(headers).body_stream(body).timeout(self._total)
                   .streamed_read_buffer_limit(0).build_streamed())
        try:
            response = await request.__aenter__()  # the total timeout bounds the upload and the answer
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        try:
            data = await self._read_body(response, self._max_json, provider, True, None)
        finally:
            await request.__aexit__(None, None, None)
        return response.status, data, response.get_header("content-type") or _JSON

    async def _read_body(self, response: UpstreamResponse, limit: int, provider: str, strict: bool,
                         idle: float | None) -> bytes:
        """The body, under the total timeout and the client's read timeout, if any; `idle`: a Python
        timer on every silence between two reads instead (moved on after each chunk). At most `limit`
        bytes: beyond it a 502 (`strict`, an answer) or cut there (an error body: only its start)."""
        reader = response.body_reader
        declared = response.get_header("content-length")
        expected = int(declared) if declared is not None and declared.isdigit() else -1
        try:
            if strict and expected > limit:
                raise _too_large(provider, limit)
            if idle is None and 0 <= expected <= limit:
                return (await reader.bytes()).to_bytes()  # a known size: one read loop in Rust
            parts: list[bytes] = []
            size = 0
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(None) as silence:
                while True:
                    if idle is not None:
                        silence.reschedule(loop.time() + idle)
                    chunk = await reader.read_chunk()
                    if chunk is None:
                        break
                    part = chunk.to_bytes()
                    size += len(part)
                    if size > limit:
                        if strict:
                            raise _too_large(provider, limit)
                        parts.append(part[: len(part) - (size - limit)])
                        break
                    parts.append(part)
                    if size == expected:
                        break  # the declared length is in: no wait for the end-of-body read
            return b"".join(parts)
        except ReadTimeoutError:
            raise _stalled(provider, self._idle) from None
        except RequestTimeoutError:
            raise UpstreamError(f"Upstream provider '{provider}' exceeded the total time limit mid-answer.",
                                "timeout") from None
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        except TimeoutError:  # the Python idle timer (pyreqwest's own timeouts are caught above)
            raise _stalled(provider, self._idle) from None

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
        except ReadTimeoutError:  # before TimeoutError: pyreqwest's timeouts subclass it
            raise UpstreamError(
                f"Upstream provider '{provider}' sent no response within {self._idle:g}s. Retry later.", "timeout"
            ) from None
        except PyreqwestError as exc:
            raise _explain(exc, provider) from None
        except TimeoutError:
            raise UpstreamError(
                f"Upstream provider '{provider}' sent no response within {self._first_byte_s:g}s. Retry later.",
                "timeout",
            ) from None
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


def _too_large(provider: str, limit: int) -> UpstreamError:
    return UpstreamError(f"Upstream provider '{provider}' sent an answer larger than the gateway's {limit:,}-byte "
                         "limit (DF_UPSTREAM_MAX_JSON_BYTES); nothing was billed.")


def _stalled(provider: str, idle: float) -> UpstreamError:
    return UpstreamError(f"Upstream provider '{provider}' stalled: nothing for {idle:g}s mid-answer.", "timeout")


def _explain(exc: PyreqwestError, provider: str) -> UpstreamError:
    if isinstance(exc, ConnectTimeoutError | ConnectError):
        return UpstreamError(f"Could not connect to upstream provider '{provider}'. Retry later.", "connect")
    if isinstance(exc, RequestTimeoutError):
        return UpstreamError(f"Upstream provider '{provider}' timed out. Retry later.", "timeout")
    return UpstreamError(f"Upstream provider '{provider}' failed mid-request ({type(exc).__name__}).")
