"""The upstream transcripts under tests/corpus/upstream, and ways to re-format and re-chunk them
for property tests: a reference block splitter that sees the whole stream at once (so it does
not share code with `proxy.sse`) and a re-styler of each event's JSON and line ends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import orjson

from fake_provider.styles import spaced

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "upstream"
Style = Literal["as-is", "compact", "spaced", "pretty"]
STYLES: tuple[Style, ...] = ("as-is", "compact", "spaced", "pretty")
LINE_ENDS = (b"\n", b"\r\n", b"\r")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def transcript(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def blocks(data: bytes) -> list[bytes]:
    """The stream cut after each blank line (a line end right after a line end or the start);
    what follows the last blank line, if anything, is the last block."""
    out, start, pos, line_start = [], 0, 0, True
    for match in _LINE_END.finditer(data):
        blank = line_start and match.start() == pos
        pos = match.end()
        if blank:
            out.append(data[start:pos])
            start = pos
    if start < len(data):
        out.append(data[start:])
    return out


def _lines(block: bytes) -> list[bytes]:
    return [line for line in _LINE_END.split(block) if line]


def data_of(block: bytes) -> bytes | None:
    values = [line[5:].removeprefix(b" ") for line in _lines(block) if line.startswith(b"data:")]
    return b"\n".join(values) if values else None


def json_of(block: bytes) -> Any:
    data = data_of(block)
    if data is None:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def is_usage_only(block: bytes) -> bool:
    doc = json_of(block)
    return isinstance(doc, dict) and doc.get("usage") is not None and not doc.get("choices")


def _encode(doc: Any, style: Style) -> list[bytes]:
    if style == "spaced":
        return [spaced(doc)]
    if style == "pretty":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).split(b"\n")
    return [orjson.dumps(doc)]


def restyle(block: bytes, style: Style, eol: bytes, prefix: bytes) -> bytes:
    """One block with its JSON data re-encoded in `style` (pretty: one `data:` line per JSON line),
    `prefix` for data lines (`data: ` or `data:`) and `eol` for every line end."""
    if style == "as-is":
        return block
    out: list[bytes] = []
    doc = json_of(block)
    data_done = False
    for line in _lines(block):
        if line.startswith(b"data:"):
            if not data_done:
                values = _encode(doc, style) if doc is not None else [data_of(block) or b""]
                out.extend(prefix + value for value in values)
                data_done = True
        else:
            out.append(line)
    return b"".join(line + eol for line in out) + eol


def variant(data: bytes, style: Style, eol: bytes, prefix: bytes) -> list[bytes]:
    return [restyle(block, style, eol, prefix) for block in blocks(data)]


def reads(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """`data` cut into reads of the given sizes, used in turn."""
    at, turn = 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        yield data[at:at + size]
        at += size
        turn += 1
