"""The canned upstream's answers: one OpenAI chat completion, and one 50-chunk SSE stream."""

from __future__ import annotations

import orjson

MODEL = "deepseek-chat"
_ID = "chatcmpl-canned0001"
_CREATED = 1_700_000_000


def completion_json() -> bytes:
    return orjson.dumps({
        "id": _ID, "object": "chat.completion", "created": _CREATED, "model": MODEL,
        "system_fingerprint": None,
        "choices": [{
            "index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
            "logprobs": None, "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    })


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    doc = {
        "id": _ID, "object": "chat.completion.chunk", "created": _CREATED, "model": MODEL,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def sse_stream(chunks: int = 50) -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""})]
    parts += [_chunk({"content": f"tok{i} "}) for i in range(chunks)]
    parts += [_chunk({}, "stop"), b"data: [DONE]\n\n"]
    return b"".join(parts)
