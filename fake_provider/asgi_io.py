"""Small ASGI 3 helpers: types, reading the body, sending a whole response, watching for disconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")
TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


class ClientGone(Exception):
    """The client disconnected before the request body was read."""


async def read_body(receive: Receive) -> bytes:
    first = await receive()
    if first["type"] == "http.disconnect":
        raise ClientGone
    body = first.get("body", b"")
    if not first.get("more_body", False):
        return bytes(body)
    parts = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def start(send: Send, status: int, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """Send a complete response with a Content-Length."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ClientWatch:
    """Watches ``receive()`` for ``http.disconnect`` while the response is being paced.

    Start it only after the request body was read in full.
    """

    __slots__ = ("_task",)

    def __init__(self, receive: Receive) -> None:
        self._task: asyncio.Task[None] = asyncio.ensure_future(self._watch(receive))

    @staticmethod
    async def _watch(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    @property
    def gone(self) -> bool:
        return self._task.done()

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True if the client went away meanwhile."""
        if self._task.done():
            return True
        if seconds > 0:
            await asyncio.wait((self._task,), timeout=seconds)
        return self._task.done()

    async def forever(self) -> None:
        """Wait until the client goes away."""
        await asyncio.wait((self._task,))

    def close(self) -> None:
        self._task.cancel()
