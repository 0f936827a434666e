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

Our own prompt count (used when the upstream reports none, marked `usage_estimated`): the
tokens of the message and system text (chat, messages) or of the input strings plus one per
token id (embeddings), counted with the model family's encoding (`proxy.billing.tokenizer`) —
lazily, only when a request ends without reported usage, so the hot path never tokenizes;
speech and transcriptions are counted exactly by the proxy (`proxy.billing.audio` for seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from proxy.billing.meter import completion_cap
from proxy.billing.tokenizer import count_tokens
from proxy.validation import ChatRequest
from proxy.validation_media import EmbeddingsRequest, SpeechRequest
from proxy.validation_messages import MessagesRequest

Unit = Literal["token", "character", "audio_second"]
# Audio at 8 kbit/s (1,000 bytes a second) is below every format the upstreams accept at speech
# quality, so an upload of N bytes lasts at most N / 1,000 seconds: the reservation's bound.
MIN_AUDIO_BYTES_PER_SECOND = 1_000


@dataclass(slots=True)
class Bounds:
    unit: Unit
    prompt_bound: int  # most prompt units billable (the reservation's prompt side)
    cap: int  # most completion units billable
    exact_prompt: int | None = None  # counted exactly by the proxy (speech characters, audio)
    texts: Callable[[], list[str]] = list  # the prompt's text, tokenized only if ever needed
    extra_tokens: int = 0  # token ids sent as such (embeddings)
    family: str = ""  # the model's family, for its encoding
    _estimate: int | None = field(default=None, repr=False)

    def estimate(self) -> int:
        """Our count of the prompt, when the upstream reports none (computed once, on demand)."""
        if self.exact_prompt is not None:
            return self.exact_prompt
        if self._estimate is None:
            self._estimate = count_tokens(self.texts(), self.family) + self.extra_tokens
        return self._estimate


def chat_texts(req: ChatRequest) -> list[str]:
    out: list[str] = []
    for m in req.messages:
        if isinstance(m.content, str):
            out.append(m.content)
        elif m.content is not None:
            out.extend(p.text for p in m.content if p.text is not None)
    return out


def messages_texts(req: MessagesRequest) -> list[str]:
    out: list[str] = []
    if isinstance(req.system, str):
        out.append(req.system)
    elif req.system is not None:
        out.extend(b.text for b in req.system)
    for m in req.messages:
        if isinstance(m.content, str):
            out.append(m.content)
        else:
            out.extend(b.text for b in m.content if b.text is not None)
    return out


def embedding_parts(value: str | list[str | int | list[int]]) -> tuple[list[str], int]:
    """The input's strings, and the number of token ids sent as such."""
    if isinstance(value, str):
        return [value], 0
    ids = sum(1 for v in value if isinstance(v, int)) + sum(len(v) for v in value if isinstance(v, list))
    return [v for v in value if isinstance(v, str)], ids


def json_bounds(view: object, body_len: int, context_length: int, family: str = "") -> Bounds | None:
    """The bounds of a JSON-bodied request; None for a view no rule covers (not billed)."""
    if isinstance(view, ChatRequest):
        return Bounds("token", body_len, completion_cap(view, context_length), texts=lambda: chat_texts(view),
                      family=family)
    if isinstance(view, MessagesRequest):
        return Bounds("token", body_len, view.max_tokens, texts=lambda: messages_texts(view), family=family)
    if isinstance(view, EmbeddingsRequest):
        strings, ids = embedding_parts(view.input)
        return Bounds("token", body_len, 0, texts=lambda: strings, extra_tokens=ids, family=family)
    if isinstance(view, SpeechRequest):
        chars = len(view.input)
        return Bounds("character", chars, 0, exact_prompt=chars)
    return None


def upload_bounds(declared: int | None, limit: int) -> Bounds:
    """Transcriptions: at most the declared Content-Length (else the upload limit) of audio."""
    size = min(declared, limit) if declared is not None else limit
    seconds = -(-size // MIN_AUDIO_BYTES_PER_SECOND)
    return Bounds("audio_second", seconds, 0, exact_prompt=0)
