"""Sending answers on the knobs' schedule, and noticing when the client leaves.

- JSON: the whole response after ``ttft_ms``; ``hang=body`` sends the headers and then nothing;
  ``pieces=N`` sends the headers and the body in N pieces (no Content-Length), ``piece_ms`` apart.
- Streams: the headers go out at once; after ``ttft_ms`` the opening event(s) and the first step (content
  token or tool-argument fragment) are sent; later steps follow every ``1/tps`` seconds on a fixed schedule
  (no drift); then the closing events. Each event is its own ``http.response.body`` message with
  ``more_body: True`` (the last one ends the body). ``close_after=N`` raises :class:`StreamAborted` after N
  steps so the server cuts the connection; ``hang=body`` stops after the first step until the client leaves.
- A client that leaves is noticed through ``receive()`` (``http.disconnect``, watched during every wait)
  or through ``send`` raising; either counts once in ``streams_disconnected``. Granian 2.8 neither raises
  from ``send`` nor suspends in it after the client left, so unpaced streams yield every 32 steps.
"""

from __future__ import annotations

import asyncio

from fake_provider.asgi_io import ClientWatch, Headers, Message, Receive, Send, respond
from fake_provider.knobs import Knobs
from fake_provider.sse import Events
from fake_provider.stats import Stats

YIELD_EVERY = 32
"""Unpaced streams yield to the event loop every this many steps."""


class StreamAborted(Exception):
    """Raised out of the ASGI app on purpose (``close_after``), so the server breaks the connection."""


class _ClientLeft(Exception):
    pass


async def send_json(receive: Receive, send: Send, knobs: Knobs, status: int, headers: Headers,
                    body: bytes) -> None:
    if knobs.ttft_ms <= 0 and knobs.hang != "body" and knobs.pieces == 1:
        await respond(send, status, body, headers)
        return
    watch = ClientWatch(receive)
    try:
        if await watch.sleep(knobs.ttft_ms / 1000):
            return
        if knobs.hang == "body":
            await send({"type": "http.response.start", "status": status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await watch.forever()
            return
        if knobs.pieces > 1:
            await _trickle(send, watch, status, headers, body, knobs)
            return
        await respond(send, status, body, headers)
    finally:
        watch.close()


async def _trickle(send: Send, watch: ClientWatch, status: int, headers: Headers, body: bytes, knobs: Knobs) -> None:
    """The body in ``knobs.pieces`` pieces, ``piece_ms`` apart, chunked (no Content-Length)."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    size = -(-len(body) // knobs.pieces)
    pieces = [body[i: i + size] for i in range(0, len(body), size)] or [b""]
    for index, piece in enumerate(pieces):
        if index and await watch.sleep(knobs.piece_ms / 1000):
            return
        await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})


async def send_stream(receive: Receive, send: Send, events: Events, knobs: Knobs, stats: Stats,
                      headers: Headers) -> None:
    watch = ClientWatch(receive)

    async def emit(message: Message) -> None:
        if watch.gone:
            raise _ClientLeft
        try:
            await send(message)
        except Exception as exc:  # the server's "client went away" error, whatever its class
            raise _ClientLeft from exc

    async def event(data: bytes) -> None:
        await emit({"type": "http.response.body", "body": data, "more_body": True})

    try:
        await emit({"type": "http.response.start", "status": 200, "headers": headers})
        stats.streams_started += 1
        if await watch.sleep(knobs.ttft_ms / 1000):
            raise _ClientLeft
        for data in events.opening:
            await event(data)
        loop = asyncio.get_running_loop()
        interval = 1.0 / knobs.tps if knobs.tps > 0 else 0.0
        t0 = loop.time()
        for index, step in enumerate(events.steps):
            if knobs.close_after is not None and index >= knobs.close_after:
                break
            if index and interval and await watch.sleep(t0 + index * interval - loop.time()):
                raise _ClientLeft
            if not interval and index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the watcher see a disconnect: Granian's send may not yield
            await event(step)
            if index == 0 and knobs.hang == "body":
                await watch.forever()
                raise _ClientLeft
        if knobs.close_after is not None:
            stats.streams_aborted += 1
            raise StreamAborted(f"close_after={knobs.close_after}: connection cut on purpose")
        if not events.steps and knobs.hang == "body":
            await watch.forever()
            raise _ClientLeft
        for data in events.closing[:-1]:
            await event(data)
        await emit({"type": "http.response.body", "body": events.closing[-1], "more_body": False})
        stats.streams_completed += 1
    except _ClientLeft:
        stats.streams_disconnected += 1
    finally:
        watch.close()
