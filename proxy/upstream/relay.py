"""Relay an upstream response to the client: bytes as they arrive, never re-encoded.

Streams: every upstream chunk is yielded the moment it is read. If the upstream fails
after the first byte the stream ends with an SSE error event in the OpenAI shape and
no `[DONE]`, never a hang. Closing the generator (the client left) closes the upstream
stream at once, which cancels the upstream request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import Literal

import msgspec

from proxy.billing.meter import StreamTap
from proxy.errors import GatewayError, UpstreamError, UpstreamRejected
from proxy.upstream.client import UpstreamStream
from wire.errors import openai_error_body

ERROR_BODY_LIMIT = 64 * 1024
StreamEnd = Literal["completed", "partial", "disconnected"]


def sse_error_event(status: int, message: str) -> bytes:
    return b"data: " + openai_error_body(status, message) + b"\n\n"


async def relay_chunks(stream: UpstreamStream, tap: StreamTap | None = None,
                       on_end: Callable[[StreamEnd], None] | None = None) -> AsyncGenerator[bytes, None]:
    """The upstream body, chunk by chunk as it arrives; an error event if it breaks.

    With a `tap`, each chunk passes through it (counting, reading the usage chunk; bytes are
    relayed unchanged except a usage chunk the buyer did not ask for). `on_end` is called once,
    after the upstream stream is closed: "completed" (upstream ended), "partial" (upstream
    broke) or "disconnected" (the client left: the edge closed this generator).
    """
    end: StreamEnd = "disconnected"
    try:
        while (chunk := await stream.next_chunk()) is not None:
            if tap is not None:
                chunk = tap.observe(chunk, time.monotonic_ns())
                if not chunk:
                    continue
            yield chunk
        end = "completed"
    except UpstreamError as exc:
        end = "partial"
        yield sse_error_event(exc.status, exc.message)
    finally:
        await stream.close()
        if on_end is not None:
            on_end(end)


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
    return UpstreamError(f"Upstream provider '{provider}' answered HTTP {status}{suffix}. Retry later.")
