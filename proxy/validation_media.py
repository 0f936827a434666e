"""Validation of embeddings and speech request bodies (pure; msgspec views).

Only the fields the proxy checks are decoded; everything else (e.g. `encoding_format`,
`dimensions`, `user`, `instructions`) stays in the raw body and is passed through.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec

from proxy.errors import BadRequest
from proxy.validation import explain

T = TypeVar("T")
Model = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
MAX_SPEECH_CHARS = 4096
SPEECH_TYPES: dict[str, bytes] = {
    "mp3": b"audio/mpeg", "opus": b"audio/ogg", "aac": b"audio/aac", "flac": b"audio/flac",
    "wav": b"audio/wav", "pcm": b"audio/pcm",
}


class EmbeddingsRequest(msgspec.Struct, kw_only=True):
    model: Model
    input: str | list[str | int | list[int]]  # text, texts, token ids, or lists of token ids
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, msgspec.Meta(ge=1)] | None = None
    stream: bool | None = None  # never streamed; kept so every view has `stream`


class SpeechRequest(msgspec.Struct, kw_only=True):
    model: Model
    input: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SPEECH_CHARS)]
    voice: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | dict[str, object]
    speed: Annotated[float, msgspec.Meta(ge=0.25, le=4.0)] | None = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    stream: bool | None = None


_embeddings = msgspec.json.Decoder(EmbeddingsRequest)
_speech = msgspec.json.Decoder(SpeechRequest)


def _decode(decoder: msgspec.json.Decoder[T], body: bytes, hint: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(explain(exc).replace("'model' and 'messages'", hint)) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON ({exc}). Send a JSON object.") from None


def parse_embeddings(body: bytes) -> EmbeddingsRequest:
    req = _decode(_embeddings, body, "'model' and 'input'")
    if not req.input:
        raise BadRequest("Invalid value for 'input': it must not be empty.")
    if isinstance(req.input, list) and any(isinstance(x, str) and not x for x in req.input):
        raise BadRequest("Invalid value for 'input': strings must not be empty.")
    return req


def parse_speech(body: bytes) -> SpeechRequest:
    return _decode(_speech, body, "'model', 'input' and 'voice'")
