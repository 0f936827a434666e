from __future__ import annotations

from proxy.limits.tokens import UsageTail, reservation, usage_total


def test_reservation_uses_max_tokens_or_default() -> None:
    assert reservation(400, 100, 1024) == 201
    assert reservation(400, None, 1024) == 1125


def test_usage_from_json_and_stream_tail() -> None:
    assert usage_total(b'{"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}') == 7
    assert usage_total(b'{"id": "x"}') is None
    tail = UsageTail()
    tail.feed(b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n' * 500)
    tail.feed(b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}\n\ndata: [DONE]\n\n')
    assert tail.usage() == 14
    none = UsageTail()
    none.feed(b'data: {"choices":[],"usage":null}\n\ndata: [DONE]\n\n')
    assert none.usage() is None
