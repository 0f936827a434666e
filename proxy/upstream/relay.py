"""Relay an upstream response to the client: bytes as they arrive, never re-encoded.

Streams: every upstream chunk is yielded the moment it is read. If the upstream fails
after the first byte the stream ends with an SSE error event in the OpenAI shape and
no `[DONE]`, never a hang. Closing the generator (the client left) closes the upstream
stream at once, which cancels the upstream request.

Billing hooks (both relays, passed in by the pipeline; the relay imports no billing code):
a `tap` sees every upstream chunk as read (native relays send what it returns; translated
relays feed the translator the upstream chunk itself), and `on_close(end)` says once, after
the upstream stream is closed, how the stream ended.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import Literal, Protocol

import msgspec

from proxy.errors import GatewayError, UpstreamError, UpstreamRejected
from proxy.upstream.client import UpstreamStream
from wire.errors import openai_error_body

ERROR_BODY_LIMIT = 64 * 1024


def sse_error_event(status: int, message: str) -> bytes:
    return b"data: " + openai_error_body(status, message) + b"\n\n"


ErrorEvent = Callable[[int, str], bytes]
OnEnd = Callable[[int, float, bool], None]
StreamEnd = Literal["completed", "partial", "disconnected"]
OnClose = Callable[[StreamEnd], None]


class Tap(Protocol):
    def observe(self, chunk: bytes, now_ns: int) -> bytes: ...
    def close(self) -> bytes: ...  # the upstream ended: bytes it still held (an unfinished last event)


class Translator(Protocol):
    failed: bool  # it ended the stream with an error event

    def feed(self, chunk: bytes) -> bytes: ...
    def close(self) -> bytes: ...
    def error(self, status: int, message: str) -> bytes: ...


async def relay_chunks(stream: UpstreamStream, first: bytes = b"", on_end: OnEnd | None = None,
                       on_error: ErrorEvent | None = sse_error_event, tap: Tap | None = None,
                       on_close: OnClose | None = None) -> AsyncGenerator[bytes, None]:
    """The upstream body, chunk by chunk as it arrives (after `first`, already read); an error
    event in the caller's format if it breaks (`on_error=None` cuts a binary stream instead).

    With a `tap` (billing) each chunk passes through it (reading usage and text; bytes are
    relayed unchanged except a usage event the buyer did not ask for; a tap may hold the bytes
    of an unfinished event until it ends, and hands back what it still holds when the upstream ends).
    `on_end(events, seconds, failed)` reports the SSE events relayed after the first chunk and
    the time they took (live stats); `on_close(end)` says how the stream ended (billing):
    "completed" (upstream ended), "partial" (upstream broke) or "disconnected" (the client left:
    the edge closed this generator). Both are called once, after the upstream stream is closed."""
    events = 0
    started = time.perf_counter()
    failed = False
    end: StreamEnd = "disconnected"
    try:
        chunk: bytes | None = first or await stream.next_chunk()
        while chunk is not None:
            events += chunk.count(b"data:")
            if tap is not None:
                chunk = tap.observe(chunk, time.monotonic_ns())
            if chunk:
                yield chunk
            chunk = await stream.next_chunk()
        end = "completed"
        tail = tap.close() if tap is not None else b""
        if tail:
            yield tail
    except UpstreamError as exc:
        failed = True
        end = "partial"
        if on_error is None:
            raise
        yield on_error(exc.status, exc.message)
    finally:
        await stream.close()
        if on_end is not None:
            on_end(events, time.perf_counter() - started, failed)
        if on_close is not None:
            on_close(end)


async def relay_translated(stream: UpstreamStream, translator: Translator, first: bytes = b"",
                           on_end: OnEnd | None = None, tap: Tap | None = None,
                           on_close: OnClose | None = None) -> AsyncGenerator[bytes, None]:
    """The upstream stream translated chunk by chunk: each upstream chunk's complete events are
    sent as soon as it arrives (a partial event waits for the rest of its bytes). `tap` and
    `on_close` as in `relay_chunks` ("partial" also when the translator ends with an error)."""
    events = 0
    started = time.perf_counter()
    failed = False
    end: StreamEnd = "disconnected"
    try:
        chunk: bytes | None = first or await stream.next_chunk()
        while chunk is not None:
            events += chunk.count(b"data:")
            if tap is not None:
                tap.observe(chunk, time.monotonic_ns())
            out = translator.feed(chunk)
            if out:
                yield out
            chunk = await stream.next_chunk()
        if tap is not None:
            tap.close()
        tail = translator.close()
        end = "partial" if translator.failed else "completed"
        if tail:
            yield tail
    except UpstreamError as exc:
        failed = True
        end = "partial"
        yield translator.error(exc.status, exc.message)
    finally:
        await stream.close()
        if on_end is not None:
            on_end(events, time.perf_counter() - started, failed)
        if on_close is not None:
            on_close(end)


class _UpstreamErrorDetail(msgspec.Struct):
    message: str = ""


class _UpstreamErrorBody(msgspec.Struct):
    error: _UpstreamErrorDetail | str | None = None
    message: str | None = None


_error_decoder = msgspec.json.Decoder(_UpstreamErrorBody)


def upstream_error_message(body: bytes) -> str:
    """The human message inside an upstream error body, if it has one."""
    try:
        parsed = _error_decoder.decode(body)
    except msgspec.MsgspecError:
        return ""
    if isinstance(parsed.error, _UpstreamErrorDetail):
        return parsed.error.message[:500]
    if isinstance(parsed.error, str):
        return parsed.error[:500]
    return (parsed.message or "")[:500]


def upstream_failure(status: int, body: bytes, provider: str) -> GatewayError:
    """Turn a non-2xx upstream answer into our error: the buyer's fault stays a 400."""
    detail = upstream_error_message(body)
    suffix = f": {detail}" if detail else ""
    if status in (400, 422):
        return UpstreamRejected(f"Upstream provider '{provider}' rejected the request{suffix}")
    kind = "429" if status == 429 else "5xx" if status >= 500 else "auth" if status in (401, 403) else "other"
    return UpstreamError(f"Upstream provider '{provider}' answered HTTP {status}{suffix}. Retry later.", kind)
