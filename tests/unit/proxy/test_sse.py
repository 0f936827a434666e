"""The one SSE parser (proxy/sse.py): WHATWG line and field rules, reads split at any byte,
bounded buffers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.sse import Block, SseParser, parse_block
from tests.support.sse_corpus import blocks, reads


def _feed(data: bytes, sizes: list[int], limit: int = 1 << 20) -> tuple[list[Block], SseParser]:
    parser = SseParser(limit)
    out = [b for chunk in reads(data, sizes) for b in parser.feed(chunk)]
    return out + parser.close(), parser


def _events(data: bytes, sizes: list[int]) -> list[tuple[str, bytes]]:
    return [(b.event, b.data) for b in _feed(data, sizes)[0] if b.data is not None]


_pieces = st.sampled_from([b"\n", b"\r", b"\r\n", b"data: x", b"data:y", b": ping", b"event: e", b"id: 7",
                           b"retry: 10", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"da", b"ta", b":"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=30), st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_blocks_are_the_same_however_the_stream_is_cut(parts: list[bytes], sizes: list[int]) -> None:
    data = b"".join(parts)
    got, _ = _feed(data, sizes)
    assert [b.raw for b in got] == blocks(data)  # the whole-stream reference splitter
    whole, _ = _feed(data, [len(data) or 1])
    assert [(b.event, b.data, b.id, b.retry) for b in got] == [(b.event, b.data, b.id, b.retry) for b in whole]


def test_line_ends_and_data_spacing_are_equivalent() -> None:
    expected = [("", b"x"), ("add", b"1\n2"), ("e", b"z")]
    for eol in (b"\n", b"\r\n", b"\r"):
        for prefix in (b"data: ", b"data:"):
            data = (prefix + b"x" + eol + eol + b"event: add" + eol + prefix + b"1" + eol + prefix + b"2" + eol + eol
                    + b"event:e" + eol + prefix + b"z" + eol + eol)
            for size in (1, 2, 3, len(data)):
                assert _events(data, [size]) == expected, (eol, prefix, size)


def test_crlf_split_between_its_two_bytes_is_one_line_end() -> None:
    data = b"data: a\r\n\r\ndata: b\r\n\r\n"
    cut = data.index(b"\r\n\r\n") + 3  # between the CR and the LF of the blank line
    parser = SseParser()
    first = parser.feed(data[:cut])
    assert first == []  # the block waits to know whether an LF follows its closing CR
    second = parser.feed(data[cut:])
    assert [b.raw for b in second] == [b"data: a\r\n\r\n", b"data: b\r\n\r\n"]


def test_a_multibyte_character_split_across_reads_is_whole() -> None:
    data = 'data: {"content":"é😀"}\n\n'.encode()
    assert _events(data, [1]) == [("", 'data: {"content":"é😀"}'.encode()[6:])]


def test_fields_comments_id_retry_and_bom() -> None:
    block = parse_block(b": keep-alive\nid: 42\nretry: 3000\nevent: delta\ndata\ndata:  two spaces\nfoo: bar\n\n")
    assert (block.event, block.data, block.id, block.retry) == ("delta", b"\n two spaces", b"42", 3000)
    assert parse_block(b"id: a\0b\nretry: 1s\ndata: x\n\n").id is None
    assert parse_block(b"retry: 1s\ndata: x\n\n").retry is None
    assert parse_block(b": ping\n\n").data is None and parse_block(b"event: only\n\n").data is None
    assert _events(b"\xef\xbb\xbfdata: first\n\ndata: \xef\xbb\xbfsecond\n\n", [1]) == [
        ("", b"first"), ("", b"\xef\xbb\xbfsecond")]  # a BOM only at the start of the stream


def test_unterminated_last_block_is_handed_back_on_close() -> None:
    parser = SseParser()
    assert parser.feed(b"data: 1\n\ndata: [DONE]\n")[0].data == b"1"
    tail = parser.close()
    assert [(b.raw, b.data) for b in tail] == [(b"data: [DONE]\n", b"[DONE]")]
    assert parser.close() == []


def test_an_oversized_block_passes_through_unread_and_the_next_is_read() -> None:
    big = b"data: " + b"x" * 300 + b"\n\n"
    data = b"data: a\n\n" + big + b"data: b\n\n"
    got, parser = _feed(data, [10], limit=64)
    assert b"".join(b.raw for b in got) == data  # every byte handed back, once, in order
    assert [b.data for b in got if b.data is not None] == [b"a", b"b"]
    assert parser.oversized == 1
    held = max(len(b.raw) for b in got if not b.complete)
    assert held <= 64 + 10  # never more than the limit plus one read is kept


def test_oversized_block_that_never_ends_is_flushed_on_close() -> None:
    got, parser = _feed(b"data: " + b"y" * 100, [7], limit=20)
    assert b"".join(b.raw for b in got) == b"data: " + b"y" * 100
    assert all(b.data is None for b in got) and parser.oversized == 1
