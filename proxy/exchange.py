"""What to send a chosen listing and how to turn its answer into the caller's format (pure).

`cap_max_tokens` makes the body's max-token fields agree with the reserved cap (README "Billing").
`prepare` maps (endpoint, caller body, listing) to an `Exchange`: URL, headers and body for the
upstream, plus the response side: nothing for a native relay (bytes unchanged), or a whole-body
translation and a fresh stream translator when the caller's dialect differs from the listing's
(`proxy.translate`). `stream_error` is the caller-format SSE error event for a mid-stream
failure; None for binary streams (audio), which are cut instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from proxy.endpoints import Endpoint, View
from proxy.errors import GatewayError
from proxy.snapshot.index import ListingEntry
from proxy.translate import requests, responses
from proxy.translate import stream_to_anthropic as to_anthropic
from proxy.translate import stream_to_openai as to_openai
from proxy.translate import usage as usage_shapes
from proxy.validation import ChatRequest
from proxy.validation_messages import MessagesRequest

ANTHROPIC_VERSION = "2023-06-01"  # sent to Anthropic-format sellers when the caller sent none


class StreamTranslator(Protocol):
    failed: bool
    usage: usage_shapes.Usage  # normalised usage read from the upstream's events (billing)

    def feed(self, chunk: bytes) -> bytes: ...
    def close(self) -> bytes: ...
    def error(self, status: int, message: str) -> bytes: ...


@dataclass(slots=True)
class Exchange:
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    stream: bool
    translate_json: Callable[[bytes], bytes] | None = None
    translator: StreamTranslator | None = None
    stream_error: Callable[[int, str], bytes] | None = to_openai.error_event


def rewrite_body(body: bytes, upstream_model: str | None, include_usage: bool = False) -> bytes:
    """The body with `model` set to the seller's upstream name and, for metering a stream,
    `stream_options.include_usage` on; every other field untouched."""
    doc = _doc(body)
    if upstream_model is not None:
        doc["model"] = upstream_model
    if include_usage:
        options = doc.get("stream_options")
        doc["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return orjson.dumps(doc)


def cap_max_tokens(body: bytes, chat: ChatRequest, default_cap: int = 0) -> bytes:
    """The body whose max-token fields agree with the per-choice cap reserved and billed
    (`proxy.billing.meter.completion_cap`), whichever field the upstream honours:
    - both `max_tokens` and `max_completion_tokens` present and different: both set to the smaller;
    - neither present and the model has a `max_output_tokens` (`default_cap` > 0): `max_tokens` set
      to it, so the upstream cannot produce more than was reserved;
    - otherwise unchanged (a single field already is the cap)."""
    a, b = chat.max_tokens, chat.max_completion_tokens
    if a is None and b is None:
        if default_cap <= 0:
            return body
        doc = _doc(body)
        doc["max_tokens"] = chat.max_tokens = default_cap
        return orjson.dumps(doc)
    if a is None or b is None or a == b:
        return body
    doc = _doc(body)
    doc["max_tokens"] = doc["max_completion_tokens"] = chat.max_tokens = chat.max_completion_tokens = min(a, b)
    return orjson.dumps(doc)


def rewrite_model(body: bytes, upstream_model: str) -> bytes:
    """The body with `model` set to the seller's upstream name; every other field untouched."""
    return rewrite_body(body, upstream_model)


def _doc(body: bytes) -> dict[str, object]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:  # numbers orjson cannot hold (e.g. > 64-bit ints)
        raise GatewayError("Request body could not be re-encoded for the upstream.") from None
    assert isinstance(doc, dict)  # the view was decoded from this body as an object
    return doc


def anthropic_headers(listing: ListingEntry, caller: dict[bytes, bytes]) -> list[tuple[str, str]]:
    version = caller.get(b"anthropic-version")
    out = [("x-api-key", listing.listing.upstream_key), ("content-type", "application/json"),
           ("anthropic-version", version.decode("latin-1") if version else ANTHROPIC_VERSION)]
    beta = caller.get(b"anthropic-beta")
    if beta:
        out.append(("anthropic-beta", beta.decode("latin-1")))
    return out


def streams(endpoint: Endpoint, view: View) -> bool:
    """Whether the answer is relayed as a stream (asked for, or audio, which always streams)."""
    return bool(view.stream) or endpoint.kind == "speech"


def prepare(endpoint: Endpoint, view: View, body: bytes, listing: ListingEntry,
            caller: dict[bytes, bytes]) -> Exchange:
    entry = listing.listing
    upstream_model = entry.upstream_model
    stream = streams(endpoint, view)
    openai_headers = [("authorization", listing.auth_header), ("content-type", "application/json")]
    if entry.api_format == "anthropic":
        url = f"{entry.base_url}/messages"
        if isinstance(view, MessagesRequest):  # native
            if view.model != upstream_model:
                body = rewrite_model(body, upstream_model)
            return Exchange(url, anthropic_headers(listing, caller), body, stream,
                            stream_error=to_anthropic.error_event)
        assert isinstance(view, ChatRequest)
        out = requests.chat_to_messages(_doc(body), upstream_model)
        include_usage = bool(view.stream_options and view.stream_options.include_usage)
        return Exchange(url, anthropic_headers(listing, caller), orjson.dumps(out), stream,
                        translate_json=responses.message_to_chat,
                        translator=to_openai.ToOpenAIStream(int(time.time()), include_usage) if stream else None)
    url = listing.chat_url if endpoint.kind == "chat" else entry.base_url + endpoint.upstream_path
    if isinstance(view, MessagesRequest):
        stops = tuple(view.stop_sequences or ())
        out = requests.messages_to_chat(_doc(body), upstream_model)
        return Exchange(url, openai_headers, orjson.dumps(out), stream,
                        translate_json=lambda data: responses.chat_to_message(data, stops),
                        translator=to_anthropic.ToAnthropicStream(view.model, stops) if stream else None,
                        stream_error=to_anthropic.error_event)
    if view.model != upstream_model:
        body = rewrite_model(body, upstream_model)
    return Exchange(url, openai_headers, body, stream,
                    stream_error=None if endpoint.kind == "speech" else to_openai.error_event)
