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
  here; tiktoken downloads its encodings at first use); completion = the tokens of the streamed
  text (`proxy.billing.stream_tap`), or for JSON ceil(characters of the answer / 4).
- A streamed answer whose reported completion exceeds our count by more than 5 % + 2 tokens is
  a mismatch: counted against the listing (metric) and billed at our count x 1.05.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from proxy.billing.tokenizer import count_tokens
from proxy.validation import ChatRequest

DEFAULT_COMPLETION_CAP = 32_768


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


_completion = msgspec.json.Decoder(_Completion)


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
    """Billed tokens from what the seller reported and what we counted (`counted`: tokens of the streamed text).
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
