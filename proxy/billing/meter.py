"""Metering (pure): what a request may cost at most, and what it used.

Rules, stated once (README "Billing"):
- Prompt bound for the reservation: the request body's length in bytes. Every prompt token
  is at least one byte of the JSON body, and chat-template overhead is smaller than the JSON
  framing of a message, so the bound holds for real tokenizers. Billed prompt tokens are capped
  at it: a seller cannot report more prompt than the buyer sent.
- Completion cap: `max_completion_tokens`, else `max_tokens`, else the model's context length,
  else 32,768. Billed completion tokens never exceed it.
- Upstream usage is used when reported (JSON `usage`; for streams the final `include_usage`
  chunk). Otherwise (no usage, broken or cancelled stream) we count ourselves and mark
  `usage_estimated`: prompt = ceil(characters of message text / 4) (no tokenizer ships offline
  here; tiktoken downloads its encodings at first use); completion = the number of streamed
  events carrying content or tool-call argument text (upstreams stream about one token per
  event), or for JSON ceil(characters of the answer / 4).
- A streamed answer whose reported completion exceeds our count by more than 5 % + 2 tokens is
  a mismatch: counted against the listing (metric) and billed at our count x 1.05.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from proxy.billing.tokenizer import count_tokens
from proxy.validation import ChatRequest

DEFAULT_COMPLETION_CAP = 32_768
_CONTENT = b'"content":"'
_EMPTY_CONTENT = b'"content":""'
_ARGS = b'"arguments":"'
_EMPTY_ARGS = b'"arguments":""'
_USAGE = b'"usage":{'


class UsageDetails(msgspec.Struct):
    cached_tokens: int = 0


class Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: UsageDetails | None = None

    @property
    def cached(self) -> int:
        return self.prompt_tokens_details.cached_tokens if self.prompt_tokens_details else 0


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message | None = None


class _Completion(msgspec.Struct):
    usage: Usage | None = None
    choices: list[_Choice] = []


class _UsageChunk(msgspec.Struct):
    usage: Usage | None = None
    choices: list[msgspec.Raw] = []


_completion = msgspec.json.Decoder(_Completion)
_usage_chunk = msgspec.json.Decoder(_UsageChunk)


class Metered(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    estimated: bool = False
    reported_completion: int | None = None
    mismatch: bool = False


def completion_cap(chat: ChatRequest, context_length: int) -> int:
    return chat.max_completion_tokens or chat.max_tokens or context_length or DEFAULT_COMPLETION_CAP


Estimate = int | Callable[[], int]  # our prompt count, or how to compute it when it is needed


def bill(reported: Usage | None, prompt_estimate: Estimate, counted: int | None, prompt_bound: int,
         cap: int) -> Metered:
    """Billed tokens from what the seller reported and what we counted (`counted`: streamed events).
    `prompt_estimate` is only evaluated when the seller reported nothing."""
    if reported is None:
        estimate = prompt_estimate() if callable(prompt_estimate) else prompt_estimate
        return Metered(prompt_tokens=min(estimate, prompt_bound), completion_tokens=min(counted or 0, cap),
                       estimated=True)
    completion = min(reported.completion_tokens, cap)
    mismatch = counted is not None and completion > counted * 105 // 100 + 2
    if mismatch and counted is not None:
        completion = counted * 105 // 100 + 2
    prompt = min(reported.prompt_tokens, prompt_bound)
    return Metered(prompt_tokens=prompt, completion_tokens=max(completion, 0),
                   cached_tokens=min(max(reported.cached, 0), prompt), reported_completion=reported.completion_tokens,
                   mismatch=mismatch)


def meter_json(body: bytes, prompt_estimate: Estimate, prompt_bound: int, cap: int, family: str = "") -> Metered:
    try:
        doc = _completion.decode(body)
    except msgspec.MsgspecError:
        return bill(None, prompt_estimate, 0, prompt_bound, cap)
    if doc.usage is not None:
        return bill(doc.usage, prompt_estimate, None, prompt_bound, cap)
    texts = [c.message.content or "" for c in doc.choices if c.message is not None]
    return bill(None, prompt_estimate, count_tokens(texts, family), prompt_bound, cap)


class StreamTap:
    """Watches relayed SSE bytes without re-encoding them: counts content events, reads the
    usage chunk, and cuts that chunk out when the buyer did not ask for it. A read that ends
    mid-line is relayed up to its last newline; the rest goes out with the next read (an
    SSE client cannot use half a line; a stream whose last line never ends loses that line)."""

    __slots__ = ("_strip", "_carry", "events", "usage", "first_chunk_ns")

    def __init__(self, strip_usage: bool) -> None:
        self._strip = strip_usage
        self._carry = b""
        self.events = 0
        self.usage: Usage | None = None
        self.first_chunk_ns = 0

    def observe(self, chunk: bytes, now_ns: int) -> bytes:
        """The bytes to relay for this upstream chunk (the chunk itself unless a usage chunk is cut)."""
        if not self.first_chunk_ns:
            self.first_chunk_ns = now_ns
        if self._carry:
            chunk, self._carry = self._carry + chunk, b""
        if not chunk.endswith(b"\n"):  # a read that ends mid-line: its last line goes with the next read,
            cut = chunk.rfind(b"\n") + 1  # so a marker or the usage event is never seen in halves
            chunk, self._carry = chunk[:cut], chunk[cut:]
            if not chunk:
                return chunk
        self.events += chunk.count(_CONTENT) - chunk.count(_EMPTY_CONTENT)
        self.events += chunk.count(_ARGS) - chunk.count(_EMPTY_ARGS)
        at = chunk.find(_USAGE)
        if at < 0:
            return chunk
        start = max(chunk.rfind(b"data:", 0, at), 0)
        end = chunk.find(b"\n\n", at)
        if end < 0:  # the usage event continues in the next read: hold its bytes back
            self._carry = chunk[start:]
            return chunk[:start]
        event = chunk[start:end + 2]
        try:
            parsed = _usage_chunk.decode(event[5:].strip() if event.startswith(b"data:") else event.strip())
        except msgspec.MsgspecError:
            return chunk
        if parsed.usage is not None:
            self.usage = parsed.usage
            if self._strip and not parsed.choices:
                return chunk[:start] + chunk[end + 2:]
        return chunk
