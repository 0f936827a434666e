"""Anthropic metering: the native SSE tap and JSON usage map onto the same billed usage as the
translators' normalised usage, so a request costs the same whichever way it went."""

from __future__ import annotations

import bpe_openai

from proxy.billing.anthropic_meter import AnthropicTap, meter_anthropic_json, normalised_usage
from proxy.translate.stream_to_openai import ToOpenAIStream

START = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":90,'
         b'"output_tokens":1,"cache_creation_input_tokens":4,"cache_read_input_tokens":6}}}\n\n')
DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n'
END = (b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
       b'"usage":{"output_tokens":3}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n')
STREAM = START + DELTA * 3 + END


def test_tap_reads_usage_without_changing_bytes_at_every_split() -> None:
    for at in range(1, len(STREAM)):
        tap = AnthropicTap()
        assert tap.observe(STREAM[:at], 1) + tap.observe(STREAM[at:], 2) == STREAM
        usage = tap.usage
        assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.cached) == (100, 3, 6)
        assert tap.finished and tap.counted_tokens() == 3  # the tokens of "hihihi"
    assert AnthropicTap().observe(STREAM, 1) == STREAM


def test_tap_has_no_usage_before_message_delta() -> None:
    tap = AnthropicTap()
    tap.observe(START + DELTA, 1)
    assert tap.usage is None and tap.events == 1 and not tap.finished


def test_tap_and_translator_agree() -> None:
    tap, translator = AnthropicTap(), ToOpenAIStream(0, include_usage=False)
    tap.observe(STREAM, 1)
    translator.feed(STREAM)
    assert normalised_usage(translator.usage) == tap.usage


def test_json_usage_and_estimate() -> None:
    body = b'{"content":[{"type":"text","text":"abcdefgh"}],"usage":{"input_tokens":10,"output_tokens":7}}'
    m = meter_anthropic_json(body, prompt_estimate=3, prompt_bound=500, cap=5)
    assert (m.prompt_tokens, m.completion_tokens, m.estimated) == (10, 5, False)
    asked: list[int] = []

    def estimate() -> int:
        asked.append(1)
        return 3

    m = meter_anthropic_json(body, estimate, 500, 5)
    assert not asked  # reported usage: our prompt count is never computed
    m = meter_anthropic_json(b'{"content":[{"type":"text","text":"The answer is forty-two."}]}', estimate, 500, 100)
    expected = len(bpe_openai.get_encoding("cl100k_base").encode_ordinary("The answer is forty-two."))
    assert (m.prompt_tokens, m.completion_tokens, m.estimated) == (3, expected, True) and asked
