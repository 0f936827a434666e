"""Relay an upstream response to the client: bytes as they arrive, never re-encoded.

Streams: every upstream chunk is yielded the moment it is read (the client write
is the only other await). If the upstream fails after the first byte the stream
ends with an SSE error event in the OpenAI shape and no `[DONE]`, never a hang.
If the client goes away, the generator is closed and the upstream connection is
dropped at once (the `finally` below), which cancels the upstream request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import msgspec

from proxy.errors import GatewayError, UpstreamError, UpstreamRejected
from proxy.upstream.client import UpstreamStream
from wire.errors import openai_error_body

ERROR_BODY_LIMIT = 64 * 1024


def sse_error_event(status: int, message: str) -> bytes:
    return b"data: " + openai_error_body(status, message) + b"\n\n"


Receive = Callable[[], Awaitable[Mapping[str, Any]]]


async def _wait_disconnect(receive: Receive) -> None:
    """Returns when the ASGI server reports that the client went away."""
    while (await receive()).get("type") != "http.disconnect":
        pass


def stream_relay(stream: UpstreamStream, receive: Receive | None) -> Callable[[], AsyncIterator[bytes]]:
    """An async generator function (what BlackSheep's StreamedContent wants) over the stream.

    Granian does not fail writes to a vanished client, so a watcher task waits for
    `http.disconnect` and cancels the relay, which drops the upstream connection.
    """

    async def relay() -> AsyncIterator[bytes]:
        task = asyncio.current_task()
        gone = False

        def on_disconnect(_: asyncio.Future[None]) -> None:
            nonlocal gone
            if not _.cancelled() and task is not None:
                gone = True
                task.cancel()

        watcher = asyncio.ensure_future(_wait_disconnect(receive)) if receive is not None else None
        if watcher is not None:
            watcher.add_done_callback(on_disconnect)
        try:
            while (chunk := await stream.next_chunk()) is not None:
                yield chunk
        except UpstreamError as exc:
            yield sse_error_event(exc.status, exc.message)
        except asyncio.CancelledError:
            if not gone or task is None:
                raise
            task.uncancel()  # our own cancel: the client left; end quietly
        finally:
            if watcher is not None:
                watcher.remove_done_callback(on_disconnect)
                watcher.cancel()
            await stream.close()

    return relay


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
