"""The OpenAI stream tap: relays each event as soon as it is whole, reads usage from any event,
cuts only the usage-only event and only when the proxy asked for it, counts the streamed
text's tokens (not events or markers)."""

from __future__ import annotations

import bpe_openai

from proxy.billing.meter import bill
from proxy.billing.stream_tap import TEXT_FLUSH_CHARS, StreamTap

ROLE = b'data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}\n\n'
TOK = b'data: {"choices":[{"delta":{"content":" tok"}}],"usage":null}\n\n'
USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'
DONE = b"data: [DONE]\n\n"
_ENC = bpe_openai.get_encoding("cl100k_base")


def test_usage_event_is_read_and_cut_when_not_asked() -> None:
    tap = StreamTap(strip_usage=True)
    out = [tap.observe(c, 1) for c in (ROLE, TOK + TOK, USAGE + DONE)]
    assert out == [ROLE, TOK + TOK, DONE] and tap.finished
    assert tap.events == 2 and tap.usage is not None and tap.usage.completion_tokens == 2
    assert tap.counted_tokens() == len(_ENC.encode_ordinary(" tok tok"))


def test_a_buyer_who_asked_gets_the_usage_event_byte_for_byte() -> None:
    spaced = b'data:{"id": "x", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}, "extra": 1}\r\n\r\n'
    tap = StreamTap(strip_usage=False)
    assert b"".join(tap.observe(spaced[i:i + 1], 1) for i in range(len(spaced))) == spaced
    assert tap.usage is not None and tap.usage.prompt_tokens == 5


def test_injected_usage_event_is_cut_whatever_its_formatting() -> None:
    for usage in (b'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}\n\n',
                  b'data:{"usage":{"prompt_tokens":5,"completion_tokens":2},"choices":[],"x":[1,{"y":2}]}\r\n\r\n',
                  b'data: {\ndata:   "choices": [],\ndata:   "usage": {"prompt_tokens": 5, "completion_tokens": 2}\ndata: }\n\n',
                  b'data: {"usage": {"prompt_tokens": 5, "completion_tokens": 2}}\r\r'):
        data = ROLE + TOK + usage + DONE
        for size in (1, 3, len(data)):
            tap = StreamTap(strip_usage=True)
            out = b"".join(tap.observe(data[i:i + size], 1) for i in range(0, len(data), size)) + tap.close()
            assert out == ROLE + TOK + DONE, (usage, size)
            assert tap.usage is not None and (tap.usage.prompt_tokens, tap.usage.completion_tokens) == (5, 2)


def test_usage_on_an_event_with_choices_is_relayed_unchanged() -> None:
    last = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4}}\n\n'
    tap = StreamTap(strip_usage=True)
    assert tap.observe(TOK + last + DONE, 1) == TOK + last + DONE
    assert tap.usage is not None and tap.usage.completion_tokens == 4


def test_each_event_goes_out_as_soon_as_it_is_whole() -> None:
    tap = StreamTap(strip_usage=True)
    assert tap.observe(TOK[:20], 1) == b""  # a partial event waits for the rest of its bytes
    assert tap.observe(TOK[20:] + TOK[:5], 2) == TOK
    assert tap.observe(TOK[5:] + b": ping\n\n", 3) == TOK + b": ping\n\n"
    assert tap.observe(b"data: [DONE]\n", 4) == b""
    assert tap.close() == b"data: [DONE]\n"  # what the upstream never finished still reaches the buyer


def test_padding_does_not_inflate_our_count() -> None:
    """Markers inside the text, empty deltas and extra events do not count; the text's tokens do."""
    sneaky = b'data: {"choices":[{"delta":{"content":"say \\"content\\":\\"x"}}]}\n\n'
    empty = b'data: {"choices":[{"delta":{"content":""}}]}\n\n'
    tap = StreamTap(strip_usage=False)
    tap.observe(sneaky + empty * 50 + USAGE, 1)
    assert tap.counted_tokens() == len(_ENC.encode_ordinary('say "content":"x'))
    reported = bill(tap.usage, 0, tap.counted_tokens(), 1000, 1000)
    assert reported.completion_tokens == 2 and not reported.mismatch


def test_a_seller_reporting_more_than_its_text_is_capped_at_our_count() -> None:
    inflated = b'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 500}}\n\n'
    tap = StreamTap(strip_usage=True)
    tap.observe(TOK * 10 + inflated, 1)
    counted = tap.counted_tokens()
    assert counted == len(_ENC.encode_ordinary(" tok" * 10))
    m = bill(tap.usage, 0, counted, 1000, 1000)
    assert m.mismatch and m.completion_tokens == counted * 105 // 100 + 2


def test_reasoning_refusal_and_tool_call_text_count() -> None:
    data = (b'data: {"choices":[{"delta":{"reasoning_content":"think hard"}}]}\n\n'
            b'data: {"choices":[{"delta":{"reasoning":" more"}}]}\n\n'
            b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]}}]}\n\n'
            b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\": 1}"}}]}}]}\n\n'
            b'data: {"choices":[{"index":1,"delta":{"refusal":"no"}}]}\n\n')
    tap = StreamTap(strip_usage=False)
    tap.observe(data, 1)
    texts = ("think hard more", 'f{"a": 1}', "no")
    assert tap.counted_tokens() == sum(len(_ENC.encode_ordinary(t)) for t in texts)
    assert tap.events == 5


def test_odd_events_are_relayed_and_usage_still_read() -> None:
    odd = (b'data: {"choices":[{"delta":{"content":["not","a","string"]}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n'
           b"data: not json\n\nevent: error\ndata: {\"error\": {\"message\": \"x\"}}\n\n")
    tap = StreamTap(strip_usage=True)
    assert tap.observe(odd, 1) == odd
    assert tap.usage is not None and tap.usage.completion_tokens == 1 and tap.unread == 2


def test_oversized_event_is_relayed_whole_and_not_metered() -> None:
    big = b'data: {"choices":[{"delta":{"content":"' + b"z" * (2 << 20) + b'"}}]}\n\n'
    tap = StreamTap(strip_usage=True)
    out = b"".join(tap.observe(big[i:i + 65536], 1) for i in range(0, len(big), 65536))
    assert out + tap.observe(TOK, 2) == big + TOK
    assert tap.oversized == 1 and tap.counted_tokens() == len(_ENC.encode_ordinary(" tok"))


def test_long_answers_keep_bounded_text_and_count_it_all() -> None:
    word = b'data: {"choices":[{"delta":{"content":" hello"}}]}\n\n'
    n = TEXT_FLUSH_CHARS // 6 + 100  # past one flush of the collected text
    tap = StreamTap(strip_usage=False)
    for _ in range(n):
        tap.observe(word, 1)
    assert tap.counted_tokens() == n  # " hello" is one token; a flush boundary splits no word here
    assert tap.counted_tokens() == n  # asked twice: counted once, same answer
