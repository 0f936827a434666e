"""``POST /v1/chat/completions``: answer as JSON or as a paced OpenAI SSE stream (:mod:`fake_provider.pacing`)."""

from __future__ import annotations

import time

import msgspec

from fake_provider.asgi_io import JSON_TYPE, SSE_HEADERS, Headers, Receive, Send
from fake_provider.bodies import completion_json
from fake_provider.content import plan_answer
from fake_provider.knobs import Knobs
from fake_provider.pacing import send_json, send_stream
from fake_provider.sse import Framer, stream_events
from fake_provider.stats import Stats
from fake_provider.styles import restyle_events, restyle_json


async def chat_completion(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs,
                          stats: Stats, seq: int, tokens: tuple[str, ...]) -> None:
    """``tokens``: ``content_tokens(knobs.chunks, knobs.text)``, which the caller may cache."""
    model = knobs.serve_model or str(body["model"])
    answer = plan_answer(body, tokens=tokens, call_id=f"call_fake{seq:08d}", limit_field=knobs.limit_field)
    if knobs.prompt_tokens is not None or knobs.completion_tokens is not None or knobs.cached_tokens:
        answer = msgspec.structs.replace(  # a seller reporting its own figures
            answer, prompt_tokens=answer.prompt_tokens if knobs.prompt_tokens is None else knobs.prompt_tokens,
            reported_completion=knobs.completion_tokens, cached_tokens=knobs.cached_tokens)
    if knobs.usage_factor != 1:  # a seller reporting a multiple of what it sent
        reported = answer.reported_completion if answer.reported_completion is not None else answer.completion_tokens
        answer = msgspec.structs.replace(answer, prompt_tokens=answer.prompt_tokens * knobs.usage_factor,
                                         reported_completion=reported * knobs.usage_factor)
    completion_id, created = f"chatcmpl-fake{seq:08d}", int(time.time())
    headers: Headers = [(b"x-request-id", f"req_fake{seq:08d}".encode())]
    if body.get("stream") is not True:
        encoded = completion_json(answer, id=completion_id, created=created, model=model, usage=knobs.usage)
        encoded = restyle_json(encoded) if knobs.spaced else encoded
        await send_json(receive, send, knobs, 200, [JSON_TYPE, *headers], encoded)
        return
    options = body.get("stream_options")
    include_usage = knobs.usage and isinstance(options, dict) and options.get("include_usage") is True
    framer = Framer(id=completion_id, created=created, model=model, include_usage=include_usage)
    events = restyle_events(stream_events(answer, framer, include_usage=include_usage), spaced_json=knobs.spaced,
                            crlf=knobs.crlf)
    await send_stream(receive, send, events, knobs, stats, [*SSE_HEADERS, *headers])
