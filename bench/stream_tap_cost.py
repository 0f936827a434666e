"""CPU cost of the billing taps per relayed SSE event: `python bench/stream_tap_cost.py [STREAMS]`.

Feeds STREAMS copies of a 200-event OpenAI stream (the fake provider's chunk shape, then the
usage chunk and `[DONE]`, usage cut as for a buyer who did not ask) and of a 200-delta
Anthropic stream through the tap, one event per read and in 4 KiB reads, and prints µs per
event for `observe` and µs per stream for the end-of-stream count. Runs against whichever tap the
checkout has, so two commits compare in one sitting: `PYTHONPATH=<checkout> python bench/...`.
Measurement only; it asserts nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import orjson

try:
    from proxy.billing.stream_tap import StreamTap
except ImportError:  # before the tap had its own module
    from proxy.billing.meter import StreamTap  # type: ignore[attr-defined,no-redef]
from proxy.billing.anthropic_meter import AnthropicTap

EVENTS = 200


def openai_stream() -> bytes:
    head = {"id": "chatcmpl-fake00000001", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "system_fingerprint": None}
    out = [b"data: " + orjson.dumps({**head, "choices": [{"index": 0, "delta": {"content": f" tok{i}"},
                                                           "logprobs": None, "finish_reason": None}],
                                     "usage": None}) + b"\n\n" for i in range(EVENTS)]
    out.append(b"data: " + orjson.dumps({**head, "choices": [], "usage": {
        "prompt_tokens": 10, "completion_tokens": EVENTS, "total_tokens": EVENTS + 10}}) + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def anthropic_stream() -> bytes:
    def ev(kind: str, data: dict[str, object]) -> bytes:
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"
    out = [ev("message_start", {"message": {"id": "m", "usage": {"input_tokens": 10, "output_tokens": 1}}})]
    out += [ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f" tok{i}"}})
            for i in range(EVENTS)]
    out += [ev("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": EVENTS}}),
            ev("message_stop", {})]
    return b"".join(out)


def split_events(data: bytes) -> list[bytes]:
    return [part + b"\n\n" for part in data.split(b"\n\n") if part]


def split_reads(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def measure(make: Callable[[], StreamTap | AnthropicTap], reads: list[bytes], streams: int) -> tuple[float, float]:
    """(µs of observe per event, µs of the end-of-stream count per stream), CPU time."""
    observe = count = 0.0
    for _ in range(streams):
        tap = make()
        t0 = time.process_time()
        for chunk in reads:
            tap.observe(chunk, 1)
        t1 = time.process_time()
        if hasattr(tap, "counted_tokens"):
            tap.counted_tokens("deepseek")
        t2 = time.process_time()
        observe += t1 - t0
        count += t2 - t1
    return observe / streams / (EVENTS + 2) * 1e6, count / streams * 1e6


def main() -> None:
    streams = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    warm = StreamTap(True)
    if hasattr(warm, "counted_tokens"):
        warm.observe(b'data: {"choices":[{"delta":{"content":"warm"}}]}\n\n', 1)
        warm.counted_tokens()  # load the tokenizer outside the timing
    for name, make, data in (("openai", lambda: StreamTap(True), openai_stream()),
                             ("anthropic", AnthropicTap, anthropic_stream())):
        for how, reads in (("event per read", split_events(data)), ("4 KiB reads", split_reads(data))):
            per_event, per_stream = measure(make, reads, streams)  # type: ignore[arg-type]
            print(f"{name:9} {how:15} observe {per_event:6.2f} µs/event   end count {per_stream:7.1f} µs/stream")


if __name__ == "__main__":
    main()
