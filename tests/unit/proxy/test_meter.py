"""The stream tap: counts content events, reads the usage chunk, cuts it only when asked."""

from __future__ import annotations

from proxy.billing.meter import StreamTap, Usage, bill

ROLE = b'data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}\n\n'
TOK = b'data: {"choices":[{"delta":{"content":" tok"}}],"usage":null}\n\n'
USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'
DONE = b"data: [DONE]\n\n"


def test_usage_chunk_is_read_and_cut_when_not_asked() -> None:
    tap = StreamTap(strip_usage=True)
    out = [tap.observe(c, 1) for c in (ROLE, TOK + TOK, USAGE + DONE)]
    assert out == [ROLE, TOK + TOK, DONE]
    assert tap.events == 2 and tap.usage is not None and tap.usage.completion_tokens == 2


def test_usage_chunk_split_across_reads_is_relayed_whole() -> None:
    tap = StreamTap(strip_usage=False)
    first, second = USAGE[:40], USAGE[40:] + DONE
    assert tap.observe(TOK + first, 1) == TOK
    assert tap.observe(second, 2) == USAGE + DONE
    assert tap.usage is not None and tap.usage.prompt_tokens == 5


def test_reported_usage_is_capped() -> None:
    m = bill(Usage(prompt_tokens=10_000, completion_tokens=500), 3, 100, prompt_bound=200, cap=300)
    assert (m.prompt_tokens, m.completion_tokens, m.mismatch) == (200, 107, True)
    assert bill(None, 7, 4, 200, 300).estimated


def test_usage_marker_split_across_reads_is_still_cut() -> None:
    tap = StreamTap(strip_usage=True)
    data = ROLE + TOK + USAGE + DONE
    at = data.index(b'"usage":{') + 4  # split inside the marker
    out = tap.observe(data[:at], 1) + tap.observe(data[at:], 2)
    assert out == ROLE + TOK + DONE
    assert tap.events == 1 and tap.usage is not None and tap.usage.completion_tokens == 2


def test_every_split_relays_each_byte_once() -> None:
    data = ROLE + TOK + TOK + USAGE + DONE
    for at in range(1, len(data)):
        tap = StreamTap(strip_usage=False)
        assert tap.observe(data[:at], 1) + tap.observe(data[at:], 2) == data
        assert tap.events == 2 and tap.usage is not None
