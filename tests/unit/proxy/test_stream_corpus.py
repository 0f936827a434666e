"""Metering does not depend on formatting: every upstream transcript in tests/corpus/upstream,
re-formatted (compact, spaced, pretty-printed over several `data:` lines; LF, CRLF or CR line
ends; `data:` with or without a space) and re-chunked at any byte (1-byte reads included), bills
the same usage and the same counted text, and the buyer receives exactly the upstream's bytes
minus the usage event the proxy injected (all of them when the buyer asked for usage). The
translators turn every variant into the same bytes."""

from __future__ import annotations

from dataclasses import dataclass

import bpe_openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.billing.anthropic_meter import AnthropicTap, meter_anthropic_json
from proxy.billing.meter import Metered, Usage, UsageDetails, bill, meter_json
from proxy.billing.stream_tap import StreamTap
from proxy.translate.stream_to_anthropic import ToAnthropicStream
from proxy.translate.stream_to_openai import ToOpenAIStream
from tests.support.sse_corpus import LINE_ENDS, STYLES, Style, is_usage_only, reads, transcript, variant

_ENC = bpe_openai.get_encoding("cl100k_base")


@dataclass(frozen=True)
class Expect:
    usage: tuple[int, int, int]  # prompt, completion, cached as the upstream reported them
    texts: tuple[str, ...]  # the streamed text, one string per part (choice / field / tool call)
    injected: bool = True  # it ends with a usage-only event (cut when the proxy asked for usage)

    @property
    def counted(self) -> int:
        return sum(len(_ENC.encode_ordinary(text)) for text in self.texts)


OPENAI = {
    "openai_compact.sse": Expect((19, 10, 0), ("Hello! How can I assist you today?",)),
    "python_spaced.sse": Expect((3, 10, 0), ("w1 w2 w3 w4 w5",)),
    "vllm_continuous_usage.sse": Expect((24, 7, 0), ("The capital of France is Paris.",)),
    "llamacpp_usage_on_last_choice.sse": Expect((12, 6, 0), ("Sure, here you go.",), injected=False),
    "keepalive_comments.sse": Expect((9, 4, 0), ("Four score and seven",), injected=False),
    "crlf.sse": Expect((7, 4, 0), ("Yes, indeed.",)),
    "data_without_space.sse": Expect((5, 3, 0), ("no space here",)),
    "multiline_data.sse": Expect((4, 3, 0), ("multi-line data",)),
    "openai_tool_calls.sse": Expect((80, 32, 64), ('get_weather{"location": "Paris"}', 'get_time{"tz": "CET"}')),
    "deepseek_reasoning_spaced.sse": Expect((13, 9, 8), ("It is 4.", "Okay, the user asks")),
    "qwen_unicode.sse": Expect((6, 8, 0), ("你好，世界 😀！Ünïcödé",)),
}
ANTHROPIC = {  # prompt = input + cache creation + cache read; cached = cache read
    "anthropic_compact.sse": Expect((128, 15, 100), ("Hello! How can I help?",), injected=False),
    "anthropic_spaced.sse": Expect((128, 15, 100), ("Hello! How can I help?",), injected=False),
    "anthropic_tool_use.sse": Expect((128, 15, 100), ("Let me check.", 'get_weather{"location": "San Francisco, CA"}'),
                                     injected=False),
}
BOUND = 10**6


def _billed(usage: Usage | None, counted: int) -> Metered:
    return bill(usage, 0, counted, BOUND, BOUND)


def _expected_bill(expect: Expect) -> Metered:
    prompt, completion, cached = expect.usage
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion,
                  prompt_tokens_details=UsageDetails(cached_tokens=cached))
    return _billed(usage, expect.counted)


def _through_tap(tap: StreamTap | AnthropicTap, data: bytes, sizes: list[int]) -> bytes:
    out = b"".join(tap.observe(chunk, 1) for chunk in reads(data, sizes))
    return out + tap.close()


def _check_openai(name: str, style: Style, eol: bytes, prefix: bytes, strip: bool, sizes: list[int]) -> None:
    expect = OPENAI[name]
    events = variant(transcript(name), style, eol, prefix)
    data = b"".join(events)
    tap = StreamTap(strip_usage=strip)
    relayed = _through_tap(tap, data, sizes)
    cut = [e for e in events if not (strip and is_usage_only(e))]
    assert len(cut) == len(events) - (strip and expect.injected)
    assert relayed == b"".join(cut)
    assert tap.usage is not None
    assert (tap.usage.prompt_tokens, tap.usage.completion_tokens, tap.usage.cached) == expect.usage
    counted = tap.counted_tokens()
    assert counted == expect.counted
    assert _billed(tap.usage, counted) == _expected_bill(expect)
    assert tap.unread == 0 and tap.oversized == 0
    translator = ToAnthropicStream("m")
    translated = b"".join(translator.feed(chunk) for chunk in reads(data, sizes)) + translator.close()
    reference = ToAnthropicStream("m")
    assert translated == reference.feed(transcript(name)) + reference.close()


def _check_anthropic(name: str, style: Style, eol: bytes, prefix: bytes, sizes: list[int]) -> None:
    expect = ANTHROPIC[name]
    data = b"".join(variant(transcript(name), style, eol, prefix))
    tap = AnthropicTap()
    assert _through_tap(tap, data, sizes) == data  # the tap never changes a byte
    assert tap.usage is not None
    assert (tap.usage.prompt_tokens, tap.usage.completion_tokens, tap.usage.cached) == expect.usage
    assert tap.counted_tokens() == expect.counted
    translator = ToOpenAIStream(0, include_usage=True)
    translated = b"".join(translator.feed(chunk) for chunk in reads(data, sizes)) + translator.close()
    reference = ToOpenAIStream(0, include_usage=True)
    assert translated == reference.feed(transcript(name)) + reference.close()
    assert b'"completion_tokens":15' in translated and not translator.failed


_sizes = st.one_of(st.just([1]), st.lists(st.integers(1, 97), min_size=1, max_size=12))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(OPENAI)), style=st.sampled_from(STYLES), eol=st.sampled_from(LINE_ENDS),
       prefix=st.sampled_from([b"data: ", b"data:"]), strip=st.booleans(), sizes=_sizes)
def test_openai_transcripts_bill_and_relay_the_same_in_every_format(name: str, style: Style, eol: bytes,
                                                                    prefix: bytes, strip: bool,
                                                                    sizes: list[int]) -> None:
    _check_openai(name, style, eol, prefix, strip, sizes)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(ANTHROPIC)), style=st.sampled_from(STYLES), eol=st.sampled_from(LINE_ENDS),
       prefix=st.sampled_from([b"data: ", b"data:"]), sizes=_sizes)
def test_anthropic_transcripts_bill_the_same_in_every_format(name: str, style: Style, eol: bytes, prefix: bytes,
                                                             sizes: list[int]) -> None:
    _check_anthropic(name, style, eol, prefix, sizes)


@pytest.mark.parametrize("name", sorted(OPENAI))
def test_every_openai_transcript_in_one_byte_reads(name: str) -> None:
    for style in STYLES:
        for eol in LINE_ENDS:
            _check_openai(name, style, eol, b"data: ", True, [1])


@pytest.mark.parametrize("name", sorted(ANTHROPIC))
def test_every_anthropic_transcript_in_one_byte_reads(name: str) -> None:
    for style in STYLES:
        _check_anthropic(name, style, b"\r\n", b"data:", [1])


@pytest.mark.parametrize(("name", "usage"), [
    ("openai_pretty.json", (1117, 46, 1024)), ("openai_spaced.json", (1117, 46, 1024))])
def test_openai_json_bodies_meter_the_same_however_spaced(name: str, usage: tuple[int, int, int]) -> None:
    body = transcript(name)
    doc = orjson.loads(body)
    for form in (body, orjson.dumps(doc), orjson.dumps(doc, option=orjson.OPT_INDENT_2).replace(b"\n", b"\r\n")):
        m = meter_json(form, 0, BOUND, BOUND)
        assert (m.prompt_tokens, m.completion_tokens, m.cached_tokens, m.estimated) == (*usage, False)


def test_json_body_without_usage_counts_the_answer_text_however_spaced() -> None:
    body = transcript("openai_no_usage_spaced.json")
    expected = len(_ENC.encode_ordinary("no usage here"))
    for form in (body, orjson.dumps(orjson.loads(body)), orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2)):
        m = meter_json(form, 7, BOUND, BOUND)
        assert (m.prompt_tokens, m.completion_tokens, m.estimated) == (7, expected, True)


def test_anthropic_json_body_meters_the_same_however_spaced() -> None:
    body = transcript("anthropic_pretty.json")
    for form in (body, orjson.dumps(orjson.loads(body))):
        m = meter_anthropic_json(form, 0, BOUND, BOUND)
        assert (m.prompt_tokens, m.completion_tokens, m.cached_tokens, m.estimated) == (2595, 503, 500, False)
