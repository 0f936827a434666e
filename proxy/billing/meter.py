"""Metering (pure): what a request may cost at most, and what it used.

Rules, stated once (README "Billing"):
- Prompt bound for the reservation: the request body's length in bytes, plus `IMAGE_TOKENS` per
  image (`proxy.billing.bounds`). Billed prompt tokens are capped at it, and at our own count's
  allowance (`Bounds.prompt_limit`, passed as `prompt_limit`): a report above it is billed at
  the allowance and counted as a mismatch.
- Completion cap: per choice the smaller of `max_completion_tokens` and `max_tokens` (the body
  sent upstream carries that value in every max-token field present,
  `proxy.exchange.cap_max_tokens`), else the model's `max_output_tokens` (which the body sent
  upstream then carries as `max_tokens`), else its context length, else 32,768; times `n`.
  Billed completion tokens never exceed it.
- Upstream usage is used when reported (JSON `usage`; for streams the final `include_usage`
  chunk). Otherwise (no usage, broken or cancelled stream) we count ourselves and mark
  `usage_estimated` (`proxy.billing.tokenizer`).
- Completion cross-check: a reported completion above our count x 1.05 + 2 (`counted`: for
  streams the tokens of the streamed text, `proxy.billing.stream_tap`; for JSON `answer_count`:
  max(ceil(characters / 4), tokens) of the answer's text, visible reasoning and tool calls'
  names and arguments, plus `TOOL_CALL_TOKENS` (100) per tool call) is a mismatch: counted
  against the listing (metric) and billed at that bound.
  JSON answers of models with the `reasoning` capability are not cross-checked (their hidden
  reasoning tokens cannot be counted); they stay capped at the completion cap.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from proxy.billing.tokenizer import count_tokens
from proxy.validation import ChatRequest

DEFAULT_COMPLETION_CAP = 32_768
TOOL_CALL_TOKENS = 100  # a tool call's framing in completion tokens, beyond its name and arguments


class UsageDetails(msgspec.Struct):
    cached_tokens: int = 0


class Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: UsageDetails | None = None

    @property
    def cached(self) -> int:
        return self.prompt_tokens_details.cached_tokens if self.prompt_tokens_details else 0


class _Function(msgspec.Struct):
    name: str = ""
    arguments: str = ""


class _Call(msgspec.Struct):
    function: _Function | None = None


class _Message(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[_Call] | None = None

    def calls(self) -> int:
        return len(self.tool_calls or ())

    def texts(self) -> list[str]:
        out = [t for t in (self.content, self.reasoning_content, self.reasoning, self.refusal) if t]
        for call in self.tool_calls or ():
            if call.function is not None:
                out += [call.function.name, call.function.arguments]
        return out


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


def completion_cap(chat: ChatRequest, model_cap: int) -> int:
    """The most completion tokens billable: per choice the smaller max-token field given (else
    `model_cap`: the model's max_output_tokens, else its context length; else 32,768), times `n`."""
    a, b = chat.max_completion_tokens, chat.max_tokens
    per_choice = (min(a, b) if a is not None and b is not None else a or b) or model_cap \
        or DEFAULT_COMPLETION_CAP
    return per_choice * (chat.n or 1)


def completion_limit(counted: int) -> int:
    """The most completion tokens billable against our own count of them."""
    return counted * 105 // 100 + 2


def answer_count(texts: list[str], calls: int, reported: int, family: str) -> int:
    """Our count of a JSON answer for the cross-check: max(ceil(characters / 4), tokens) plus
    `TOOL_CALL_TOKENS` per tool call. The tokenizer runs only when `reported` is above what the
    characters alone allow, so most honest answers are never tokenized."""
    cheap = -(-sum(len(t) for t in texts) // 4) + TOOL_CALL_TOKENS * calls
    if reported <= completion_limit(cheap):
        return cheap
    return max(cheap, count_tokens(texts, family) + TOOL_CALL_TOKENS * calls)


Estimate = int | Callable[[], int]  # our prompt count, or how to compute it when it is needed
PromptLimit = Callable[[int], int]  # reported prompt -> the most billable (tokenizes only if needed)


def bill(reported: Usage | None, prompt_estimate: Estimate, counted: int | None, prompt_bound: int,
         cap: int, *, prompt_limit: PromptLimit | None = None) -> Metered:
    """Billed tokens from what the seller reported and what we counted (`counted`: our count of the
    completion, e.g. tokens of the streamed text). `prompt_estimate` is only evaluated when the
    seller reported nothing, `prompt_limit` only when it reported a prompt."""
    if reported is None:
        estimate = prompt_estimate() if callable(prompt_estimate) else prompt_estimate
        return Metered(prompt_tokens=min(estimate, prompt_bound), completion_tokens=min(counted or 0, cap),
                       estimated=True)
    completion = min(reported.completion_tokens, cap)
    mismatch = counted is not None and completion > completion_limit(counted)
    if mismatch and counted is not None:
        completion = completion_limit(counted)
    prompt = min(reported.prompt_tokens, prompt_bound)
    if prompt_limit is not None and prompt > 0:
        allowed = prompt_limit(prompt)
        if prompt > allowed:
            prompt, mismatch = allowed, True
    return Metered(prompt_tokens=prompt, completion_tokens=max(completion, 0),
                   cached_tokens=min(max(reported.cached, 0), prompt), reported_completion=reported.completion_tokens,
                   mismatch=mismatch)


def meter_json(body: bytes, prompt_estimate: Estimate, prompt_bound: int, cap: int, family: str = "", *,
               prompt_limit: PromptLimit | None = None, cross_check: bool = True) -> Metered:
    try:
        doc = _completion.decode(body)
    except msgspec.MsgspecError:
        return bill(None, prompt_estimate, 0, prompt_bound, cap)
    texts = [t for c in doc.choices if c.message is not None for t in c.message.texts()]
    if doc.usage is not None:
        counted = None
        if cross_check:
            calls = sum(c.message.calls() for c in doc.choices if c.message is not None)
            counted = answer_count(texts, calls, min(doc.usage.completion_tokens, cap), family)
        return bill(doc.usage, prompt_estimate, counted, prompt_bound, cap, prompt_limit=prompt_limit)
    return bill(None, prompt_estimate, count_tokens(texts, family), prompt_bound, cap)
