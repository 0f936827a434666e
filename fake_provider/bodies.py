"""Response bodies of the fake provider, encoded with orjson (pure).

Chat completion JSON::

    {"id": "chatcmpl-...", "object": "chat.completion", "created": <unix s>, "model": <request model>,
     "system_fingerprint": null,
     "choices": [{"index": 0, "message": {"role": "assistant", "content": ..., "refusal": null},
                  "logprobs": null, "finish_reason": "stop" | "length" | "tool_calls"}],
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens",
               "prompt_tokens_details": {"cached_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 0}}}

``usage`` is left out when the ``usage`` knob is off. A tool call answer has ``content: null`` and
``tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}]``.

Errors: ``{"error": {"message", "type", "param": null, "code"}}`` (see :func:`error_type`).
Embedding vectors: deterministic unit vectors seeded by blake2b of (input, dimensions).
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Iterable, Sequence

import orjson

from fake_provider.content import Answer

DEFAULT_DIMENSIONS = 8

_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_type(status: int) -> tuple[str, str | None]:
    """OpenAI error ``type`` and ``code`` for a status."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return ("server_error", None) if status >= 500 else ("invalid_request_error", None)


def error_body(status: int, message: str, *, code: str | None = None) -> bytes:
    kind, default_code = error_type(status)
    return orjson.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": code or default_code}}
    )


def usage_object(answer: Answer) -> dict[str, object]:
    prompt = answer.prompt_tokens
    completion = answer.completion_tokens if answer.reported_completion is None else answer.reported_completion
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def tool_calls_object(answer: Answer) -> list[dict[str, object]] | None:
    call = answer.tool_call
    if call is None:
        return None
    return [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]


def completion_json(answer: Answer, *, id: str, created: int, model: str, usage: bool) -> bytes:
    message: dict[str, object] = {"role": "assistant", "content": None, "refusal": None}
    calls = tool_calls_object(answer)
    if calls is None:
        message["content"] = answer.content
    else:
        message["tool_calls"] = calls
    body: dict[str, object] = {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}
        ],
    }
    if usage:
        body["usage"] = usage_object(answer)
    return orjson.dumps(body)


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.blake2b(f"{counter}:{dimensions}:{text}".encode(), digest_size=64).digest()
        values.extend((word / 0xFFFFFFFF) * 2.0 - 1.0 for word in struct.unpack("<16I", digest))
        counter += 1
    del values[dimensions:]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode_base64(vector: Sequence[float]) -> str:
    """OpenAI's ``encoding_format: "base64"``: little-endian float32 array, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embeddings_json(
    inputs: Iterable[str], *, model: str, dimensions: int, as_base64: bool, prompt_tokens: int, usage: bool
) -> bytes:
    data: list[dict[str, object]] = []
    for index, text in enumerate(inputs):
        vector = embedding_vector(text, dimensions)
        data.append(
            {"object": "embedding", "index": index, "embedding": encode_base64(vector) if as_base64 else vector}
        )
    body: dict[str, object] = {"object": "list", "data": data, "model": model}
    if usage:
        body["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return orjson.dumps(body)


def model_object(name: str) -> dict[str, object]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "fake-provider"}


def models_json(names: Iterable[str]) -> bytes:
    return orjson.dumps({"object": "list", "data": [model_object(name) for name in names]})
