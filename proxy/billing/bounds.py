"""Per endpoint: what a request is billed in, the most it may use, and our own prompt count (pure).

Every unit is billed through the one pricing function (`wire.pricing.charge`) as "prompt" and
"completion" units at the listing's `ask_input` / `ask_output` (micro-USD per million units);
the model's `price_unit` says what a unit is:

| endpoint | price_unit | prompt units (ask_input) | completion (ask_output) | prompt bound | cap |
|---|---|---|---|---|---|
| chat, messages | token | prompt tokens | completion tokens | body bytes | max_tokens* |
| embeddings | token | input tokens | 0 | body bytes | 0 |
| speech | character | characters of `input` (exact) | 0 | those characters | 0 |
| transcriptions | audio_second | whole seconds of audio | 0 | upload bytes / 1,000 | 0 |

*chat: `max_completion_tokens`, else `max_tokens`, else the model's context length; messages:
`max_tokens` (required there).

Our own prompt count (used when the upstream reports none, marked `usage_estimated`):
chat and messages ceil(characters of message and system text / 4); embeddings ceil(characters
of the input strings / 4), or one token per token id; speech and transcriptions are counted
exactly by the proxy (`proxy.billing.audio` for seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from proxy.billing.meter import completion_cap, estimate_tokens, prompt_chars
from proxy.validation import ChatRequest
from proxy.validation_media import EmbeddingsRequest, SpeechRequest
from proxy.validation_messages import MessagesRequest

Unit = Literal["token", "character", "audio_second"]
# Audio at 8 kbit/s (1,000 bytes a second) is below every format the upstreams accept at speech
# quality, so an upload of N bytes lasts at most N / 1,000 seconds: the reservation's bound.
MIN_AUDIO_BYTES_PER_SECOND = 1_000


@dataclass(frozen=True, slots=True)
class Bounds:
    unit: Unit
    prompt_bound: int  # most prompt units billable (the reservation's prompt side)
    cap: int  # most completion units billable
    prompt_estimate: int  # our count of the prompt, when the upstream reports none


def messages_chars(req: MessagesRequest) -> int:
    total = 0
    if isinstance(req.system, str):
        total += len(req.system)
    elif req.system is not None:
        total += sum(len(b.text) for b in req.system)
    for m in req.messages:
        if isinstance(m.content, str):
            total += len(m.content)
        else:
            total += sum(len(b.text) for b in m.content if b.text is not None)
    return total


def embedding_tokens(value: str | list[str | int | list[int]]) -> int:
    if isinstance(value, str):
        return estimate_tokens(len(value))
    chars = sum(len(v) for v in value if isinstance(v, str))
    ids = sum(1 for v in value if isinstance(v, int)) + sum(len(v) for v in value if isinstance(v, list))
    return estimate_tokens(chars) + ids


def json_bounds(view: object, body_len: int, context_length: int) -> Bounds | None:
    """The bounds of a JSON-bodied request; None for a view no rule covers (not billed)."""
    if isinstance(view, ChatRequest):
        return Bounds("token", body_len, completion_cap(view, context_length), estimate_tokens(prompt_chars(view)))
    if isinstance(view, MessagesRequest):
        return Bounds("token", body_len, view.max_tokens, estimate_tokens(messages_chars(view)))
    if isinstance(view, EmbeddingsRequest):
        return Bounds("token", body_len, 0, embedding_tokens(view.input))
    if isinstance(view, SpeechRequest):
        chars = len(view.input)
        return Bounds("character", chars, 0, chars)
    return None


def upload_bounds(declared: int | None, limit: int) -> Bounds:
    """Transcriptions: at most the declared Content-Length (else the upload limit) of audio."""
    size = min(declared, limit) if declared is not None else limit
    seconds = -(-size // MIN_AUDIO_BYTES_PER_SECOND)
    return Bounds("audio_second", seconds, 0, 0)
