"""``POST /v1/chat/completions``: answer as JSON or as a paced SSE stream.

Pacing: the response headers go out at once; after ``ttft_ms`` the opening chunk and the first content
chunk are sent; later content chunks follow every ``1/tps`` seconds (on a fixed schedule, so no drift).
Each event is its own ``http.response.body`` message with ``more_body: True``.
"""

from __future__ import annotations

import asyncio
import time

from fake_provider.asgi_io import JSON_TYPE, SSE_HEADERS, ClientWatch, Headers, Message, Receive, Send, respond
from fake_provider.bodies import completion_json
from fake_provider.content import Answer, plan_answer
from fake_provider.knobs import Knobs
from fake_provider.sse import Framer, stream_events
from fake_provider.stats import Stats


class StreamAborted(Exception):
    """Raised out of the ASGI app on purpose (``close_after``), so the server breaks the connection."""


class _SendFailed(Exception):
    pass


async def json_delay(receive: Receive, send: Send, knobs: Knobs, status: int, headers: Headers,
                     body: bytes) -> None:
    """Send a JSON response after ``ttft_ms``; ``hang=body`` sends the headers and then nothing."""
    if knobs.ttft_ms <= 0 and knobs.hang != "body":
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
        await respond(send, status, body, headers)
    finally:
        watch.close()


async def chat_completion(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs,
                          stats: Stats, seq: int, tokens: tuple[str, ...]) -> None:
    """``tokens``: ``content_tokens(knobs.chunks, knobs.text)``, which the caller may cache."""
    model = str(body["model"])
    answer = plan_answer(body, tokens=tokens, call_id=f"call_fake{seq:08d}")
    completion_id, created = f"chatcmpl-fake{seq:08d}", int(time.time())
    headers: Headers = [(b"x-request-id", f"req_fake{seq:08d}".encode())]
    if body.get("stream") is not True:
        encoded = completion_json(answer, id=completion_id, created=created, model=model, usage=knobs.usage)
        await json_delay(receive, send, knobs, 200, [JSON_TYPE, *headers], encoded)
        return
    options = body.get("stream_options")
    include_usage = knobs.usage and isinstance(options, dict) and options.get("include_usage") is True
    framer = Framer(id=completion_id, created=created, model=model, include_usage=include_usage)
    await stream(receive, send, answer, framer, include_usage, knobs, stats, [*SSE_HEADERS, *headers])


async def stream(receive: Receive, send: Send, answer: Answer, framer: Framer, include_usage: bool,
                 knobs: Knobs, stats: Stats, headers: Headers) -> None:
    events = stream_events(answer, framer, include_usage=include_usage)
    watch = ClientWatch(receive)

    async def emit(message: Message) -> None:
        if watch.gone:
            raise _SendFailed
        try:
            await send(message)
        except Exception as exc:  # the server's "client went away" error, whatever its class
            raise _SendFailed from exc

    async def chunk(data: bytes) -> None:
        await emit({"type": "http.response.body", "body": data, "more_body": True})

    try:
        await emit({"type": "http.response.start", "status": 200, "headers": headers})
        stats.streams_started += 1
        if await watch.sleep(knobs.ttft_ms / 1000):
            raise _SendFailed
        await chunk(events.opening)
        loop = asyncio.get_running_loop()
        interval = 1.0 / knobs.tps if knobs.tps > 0 else 0.0
        t0 = loop.time()
        for index, step in enumerate(events.steps):
            if knobs.close_after is not None and index >= knobs.close_after:
                break
            if index and interval and await watch.sleep(t0 + index * interval - loop.time()):
                raise _SendFailed
            await chunk(step)
            if index == 0 and knobs.hang == "body":
                await watch.forever()
                raise _SendFailed
        if knobs.close_after is not None:
            stats.streams_aborted += 1
            raise StreamAborted(f"close_after={knobs.close_after}: connection cut on purpose")
        if not events.steps and knobs.hang == "body":
            await watch.forever()
            raise _SendFailed
        for data in events.closing[:-1]:
            await chunk(data)
        await emit({"type": "http.response.body", "body": events.closing[-1], "more_body": False})
        stats.streams_completed += 1
    except _SendFailed:
        stats.streams_disconnected += 1
    finally:
        watch.close()
