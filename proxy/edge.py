"""The raw ASGI edge of the hot path: `POST /v1/chat/completions` without a framework.

Everything else goes to the BlackSheep app. Measured in bench/: BlackSheep's per-request
object graph cost a third of the proxy's throughput, so the one path that carries the
traffic is read and written here directly (request headers from the scope, body from
`receive`, reply through `send`).

Disconnects: Granian does not fail `send` to a vanished client, so while a stream is
relayed a watcher waits for `http.disconnect` and cancels the relay, which closes the
upstream stream at once (the upstream request is cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from proxy.errors import BadRequest, BodyTooLarge
from proxy.reply import Reply

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = dict[bytes, bytes]


def header_map(scope: Scope) -> Headers:
    """Request headers by (already lower-case) name; the first of repeated headers wins."""
    out: Headers = {}
    for name, value in scope["headers"]:
        out.setdefault(name, value)
    return out


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Request body is larger than the {limit:,}-byte limit. Send a smaller request.")


async def read_json_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    """The raw body of a JSON request, refusing other content types and oversize bodies early."""
    content_type = headers.get(b"content-type")
    if content_type is not None:
        mime = content_type.split(b";", 1)[0].strip().lower()
        if mime != b"application/json" and not mime.endswith(b"+json"):
            raise BadRequest(
                f"Content-Type must be application/json, got '{mime.decode(errors='replace')}'. "
                "Send -H 'Content-Type: application/json'."
            )
    declared = headers.get(b"content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("Content-Length is not a number.")
        if int(declared) > limit:
            raise _too_large(limit)
    message = await receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body"):
        parts = [body]
        size = len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        body = b"".join(parts)
    if len(body) > limit:
        raise _too_large(limit)
    if not body:
        raise BadRequest("Request body is empty. Send a JSON object.")
    return body


async def send_reply(send: Send, receive: Receive, reply: Reply) -> None:
    headers = reply.headers
    headers.append((b"content-type", reply.content_type))
    if reply.stream is None:
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body, "more_body": False})
        return
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await _send_stream(send, receive, reply)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive()).get("type") != "http.disconnect":
        pass


async def _send_stream(send: Send, receive: Receive, reply: Reply) -> None:
    stream = reply.stream
    assert stream is not None
    task = asyncio.current_task()
    gone = False

    def on_disconnect(fut: asyncio.Future[None]) -> None:
        nonlocal gone
        if not fut.cancelled() and fut.exception() is None and task is not None:
            gone = True
            task.cancel()

    watcher = asyncio.ensure_future(_wait_disconnect(receive))
    watcher.add_done_callback(on_disconnect)
    try:
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not gone or task is None:
            raise
        task.uncancel()  # our own cancel: the client left; end quietly
    finally:
        watcher.remove_done_callback(on_disconnect)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream.aclose()  # closes the upstream stream (the relay's finally)
