from __future__ import annotations

from proxy.limits.headers import duration, request_headers, retry_headers, until_midnight


def test_openai_duration_format() -> None:
    assert [duration(s) for s in (0.02, 0.0001, 1.0, 7.66, 60.0, 360.0, 60.25, 3725.0)] == \
        ["20ms", "1ms", "1s", "7.66s", "1m0s", "6m0s", "1m0.25s", "1h2m5s"]


def test_retry_after_is_a_whole_second_at_least() -> None:
    assert dict(retry_headers(0.02)) == {b"retry-after": b"1", b"retry-after-ms": b"20"}
    assert dict(retry_headers(59.3)) == {b"retry-after": b"60", b"retry-after-ms": b"59300"}


def test_request_headers() -> None:
    h = dict(request_headers(10, 9, 59.5))
    assert h[b"x-ratelimit-limit"] == b"10" and h[b"x-ratelimit-remaining"] == b"9"
    assert h[b"x-ratelimit-reset"] == b"60" and h[b"x-ratelimit-reset-requests"] == b"59.5s"
    assert until_midnight(3 * 3600 + 61) == "3h02m"
