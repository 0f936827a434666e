"""Per endpoint: what a request is billed in, the most it may use, and our own prompt count (pure).

Every unit is billed through the one pricing function (`wire.pricing.charge`) as "prompt" and
"completion" units at the listing's `ask_input` / `ask_output` (micro-USD per million units);
the model's `price_unit` says what a unit is:

| endpoint | price_unit | prompt units (ask_input) | completion (ask_output) | prompt bound | cap |
|---|---|---|---|---|---|
| chat, messages | token | prompt tokens | completion tokens | body bytes + images* | max tokens x n** |
| embeddings | token | input tokens | 0 | body bytes | 0 |
| speech | character | characters of `input` (exact) | 0 | those characters | 0 |
| transcriptions | audio_second | whole seconds of audio | 0 | upload bytes / 1,000 | 0 |

*`IMAGE_TOKENS` (2,500) per image part or block, by URL or inline: an image's tokens do not
depend on its bytes (upstreams resize it: at most ~1,600 tokens for Anthropic, ~1,450 for GPT-4o
at high detail, ~2,500 for GPT-4.1-mini's patches); a seller billing more for an image is
capped. **chat: per choice the smaller of `max_completion_tokens` / `max_tokens` (else the
model's `max_output_tokens`, sent upstream as `max_tokens`, else its context length) times `n`
(`proxy.billing.meter.completion_cap`); messages: `max_tokens`.

Our own prompt count (used when the upstream reports none, marked `usage_estimated`): the
tokens of the message and system text (chat, messages) or of the input strings plus one per
token id (embeddings), counted with the model family's encoding (`proxy.billing.tokenizer`) —
lazily, only when a request ends without reported usage;
speech and transcriptions are counted exactly by the proxy (`proxy.billing.audio` for seconds).

Prompt allowance (`Bounds.prompt_limit`): a reported prompt is billed at most at

    max(ceil(C / 4), T + T x 15 %) + 32 + 8 per message + 500 if tools are given + media

where C is the characters and T the tokens (our encoding) of the message text plus the JSON of
tools, tool calls and tool results, and media = `IMAGE_TOKENS` per image + (bytes of inline
audio or file data) / 4. 15 % is the spread between our encoding and the 100k-vocabulary
tokenizers of the served families; 32 + 8 per message covers chat templates (role markers,
default system prompts); 500 covers the tool-use preamble templates add. The ceil(C / 4)
floor is checked first and needs no tokenizer: the tokenizer (0.11-0.15 us a token, measured:
11-15 ms for 100k tokens; ~6 us for the check without it) runs only when a report is above
it. Above the allowance the prompt is billed at the allowance and counted as a usage mismatch;
the body-bytes bound stays the outer cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from proxy.billing.meter import completion_cap
from proxy.billing.tokenizer import count_tokens
from proxy.validation import ChatRequest, given
from proxy.validation_media import EmbeddingsRequest, SpeechRequest
from proxy.validation_messages import MessagesRequest

Unit = Literal["token", "character", "audio_second"]
IMAGE_TOKENS = 2_500  # the prompt tokens allowed (and reserved) per image, whatever its size
PROMPT_TOLERANCE_PCT = 15
PER_REQUEST_TOKENS = 32
PER_MESSAGE_TOKENS = 8
TOOLS_TOKENS = 500
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
    extra_texts: Callable[[], list[str]] = list  # tools, tool calls, tool results: JSON (allowance only)
    messages: int = 0
    tools: bool = False
    media_tokens: int = 0  # images and inline audio/file data, for the allowance
    cross_check: bool = True  # JSON completions checked against our count (not for reasoning models)
    _estimate: int | None = field(default=None, repr=False)

    def estimate(self) -> int:
        """Our count of the prompt, when the upstream reports none (computed once, on demand)."""
        if self.exact_prompt is not None:
            return self.exact_prompt
        if self._estimate is None:
            self._estimate = count_tokens(self.texts(), self.family) + self.extra_tokens
        return self._estimate

    def prompt_limit(self, reported: int) -> int:
        """The most prompt tokens billable when the seller reported `reported` (see the module's
        "Prompt allowance"); tokenizes only when `reported` is above the cheap floor."""
        framing = (PER_REQUEST_TOKENS + PER_MESSAGE_TOKENS * self.messages + (TOOLS_TOKENS if self.tools else 0)
                   + self.media_tokens + self.extra_tokens)
        texts = self.texts() + self.extra_texts()
        floor = -(-sum(len(t) for t in texts) // 4) + framing
        if reported <= floor:
            return reported
        counted = count_tokens(texts, self.family)
        return max(floor, counted + counted * PROMPT_TOLERANCE_PCT // 100 + framing)


def _json_text(raw: msgspec.Raw) -> str:
    return bytes(raw).decode("utf-8", "replace") if given(raw) else ""


def chat_media(req: ChatRequest) -> tuple[int, int]:
    """(image parts, allowance tokens of inline audio and file data)."""
    images = inline = 0
    for m in req.messages:
        if isinstance(m.content, list):
            for p in m.content:
                if p.type == "image_url":
                    images += 1
                elif p.input_audio is not None:
                    inline += len(p.input_audio.data) // 4
                elif p.file is not None and p.file.file_data is not None:
                    inline += len(p.file.file_data) // 4
    return images, inline


def chat_extra(req: ChatRequest) -> list[str]:
    out = [_json_text(t.function) for t in req.tools or ()]
    for m in req.messages:
        out.extend(_json_text(c) for c in m.tool_calls or ())
    return out


def messages_media(req: MessagesRequest) -> tuple[int, int]:
    images = inline = 0
    for m in req.messages:
        if isinstance(m.content, list):
            for b in m.content:
                if b.type == "image":
                    images += 1
                elif b.source is not None and b.source.data is not None:
                    inline += len(b.source.data) // 4
    return images, inline


def messages_extra(req: MessagesRequest) -> list[str]:
    out = [msgspec.json.encode([t.description or "", t.input_schema]).decode() for t in req.tools or ()]
    for m in req.messages:
        if isinstance(m.content, list):
            out.extend(t for b in m.content for t in (b.thinking or "", _json_text(b.input), _json_text(b.content))
                       if t)
    return out


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


def json_bounds(view: object, body_len: int, model_cap: int, family: str = "",
                reasoning: bool = False) -> Bounds | None:
    """The bounds of a JSON-bodied request; None for a view no rule covers (not billed).
    `model_cap`: the model's max_output_tokens, else its context length (`meter.completion_cap`).
    `reasoning`: the model has the `reasoning` capability (no JSON completion cross-check)."""
    if isinstance(view, ChatRequest):
        images, inline = chat_media(view)
        return Bounds("token", body_len + images * IMAGE_TOKENS, completion_cap(view, model_cap),
                      texts=lambda: chat_texts(view), family=family, extra_texts=lambda: chat_extra(view),
                      messages=len(view.messages), tools=bool(view.tools),
                      media_tokens=images * IMAGE_TOKENS + inline, cross_check=not reasoning)
    if isinstance(view, MessagesRequest):
        images, inline = messages_media(view)
        return Bounds("token", body_len + images * IMAGE_TOKENS, view.max_tokens,
                      texts=lambda: messages_texts(view), family=family, extra_texts=lambda: messages_extra(view),
                      messages=len(view.messages) + (view.system is not None), tools=bool(view.tools),
                      media_tokens=images * IMAGE_TOKENS + inline, cross_check=not reasoning)
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
