"""Relay cost of a translated stream against a native one (CPU per stream in the proxy, one core).

A native relay hands each upstream chunk on unchanged; a translated one parses its SSE events and
re-encodes them in the caller's format. This times both over the same recorded 200-token stream
(one chunk per token, usage at the end), as the relay sees it, chunk by chunk:

    .venv/bin/python bench/translate_cost.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from proxy.translate.stream_to_anthropic import ToAnthropicStream
from proxy.translate.stream_to_openai import ToOpenAIStream

TOKENS = 200


def openai_stream() -> list[bytes]:
    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        return b"data: " + orjson.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                                         "model": "m", "choices": [{"index": 0, "delta": delta,
                                                                    "finish_reason": finish}]}) + b"\n\n"
    usage = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
             "usage": {"prompt_tokens": 10, "completion_tokens": TOKENS, "total_tokens": 10 + TOKENS}}
    return [chunk({"role": "assistant", "content": ""}), *(chunk({"content": f" tok{i}"}) for i in range(TOKENS)),
            chunk({}, "stop"), b"data: " + orjson.dumps(usage) + b"\n\n", b"data: [DONE]\n\n"]


def anthropic_stream() -> list[bytes]:
    def ev(kind: str, **data: object) -> bytes:
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"
    return [ev("message_start", message={"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                                         "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}),
            ev("content_block_start", index=0, content_block={"type": "text", "text": ""}), ev("ping"),
            *(ev("content_block_delta", index=0, delta={"type": "text_delta", "text": f" tok{i}"})
              for i in range(TOKENS)),
            ev("content_block_stop", index=0),
            ev("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": TOKENS}),
            ev("message_stop")]


def per_stream_us(run: Callable[[], int], rounds: int = 300) -> tuple[float, int]:
    run()
    start = time.perf_counter()
    size = 0
    for _ in range(rounds):
        size = run()
    return (time.perf_counter() - start) / rounds * 1e6, size


def main() -> None:
    oa, an = openai_stream(), anthropic_stream()

    def native(chunks: list[bytes]) -> Callable[[], int]:
        return lambda: sum(len(c) for c in chunks)  # the relay yields each chunk as is

    def to_anthropic() -> int:
        t = ToAnthropicStream("m")
        return sum(len(t.feed(c)) for c in oa) + len(t.close())

    def to_openai() -> int:
        t = ToOpenAIStream(created=1, include_usage=True)
        return sum(len(t.feed(c)) for c in an) + len(t.close())

    rows = [("native OpenAI relay (bytes as is)", native(oa), len(oa)),
            ("native Anthropic relay (bytes as is)", native(an), len(an)),
            ("OpenAI seller -> Anthropic caller", to_anthropic, len(oa)),
            ("Anthropic seller -> OpenAI caller", to_openai, len(an))]
    print(f"| stream of {TOKENS} tokens, one chunk each | µs per stream | µs per chunk | bytes out |")
    print("|---|---|---|---|")
    for name, run, chunks in rows:
        us, size = per_stream_us(run)
        print(f"| {name} | {us:,.0f} | {us / chunks:.2f} | {size:,} |")


if __name__ == "__main__":
    main()
