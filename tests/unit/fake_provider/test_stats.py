"""Counters and the bounded request ring."""

from __future__ import annotations

import orjson

from fake_provider.stats import RecordedRequest, Stats, header_dict


def test_ring_is_bounded_and_reset_clears_it() -> None:
    stats = Stats(ring_size=3)
    for i in range(5):
        stats.record(RecordedRequest("POST", f"/{i}", "", {}, {"i": i}))
    assert [r.path for r in stats.last(10)] == ["/2", "/3", "/4"]
    assert [r.path for r in stats.last(1)] == ["/4"]
    assert stats.last(0) == []
    stats.requests = 4
    stats.in_flight = 1
    stats.reset()
    assert stats.last(10) == []
    assert stats.counters()["requests"] == 0
    assert stats.counters()["in_flight"] == 1


def test_json_shapes() -> None:
    stats = Stats()
    stats.record(RecordedRequest("POST", "/v1/x", "a=1", {"authorization": "Bearer k"}, None))
    assert orjson.loads(stats.last_json(5)) == {
        "requests": [{"method": "POST", "path": "/v1/x", "query": "a=1",
                      "headers": {"authorization": "Bearer k"}, "body": None}]
    }
    assert set(orjson.loads(stats.counters_json())) == {
        "requests", "errors", "in_flight", "streams_started", "streams_completed",
        "streams_disconnected", "streams_aborted",
    }


def test_header_dict_lowercases_and_joins() -> None:
    assert header_dict([(b"X-A", b"1"), (b"x-a", b"2"), (b"Authorization", b"Bearer k")]) == {
        "x-a": "1, 2", "authorization": "Bearer k",
    }
