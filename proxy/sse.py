"""Incremental Server-Sent Events parsing (pure): bytes in any chunking -> whole event blocks.

One parser for every SSE reader in the proxy (the billing taps and both stream translators),
following the WHATWG `text/event-stream` rules:

- lines end in LF, CRLF or a lone CR; a CRLF split across two reads is one line end (a block
  whose closing CR is the last byte read waits for the next byte to know);
- a blank line ends a *block*: every byte since the previous block (comments, fields, the blank
  line itself). A block carries an event only if it has at least one `data:` line;
- `name:value` fields, one leading space of the value dropped (`data:x` and `data: x` are the
  same); `data` lines of one event are joined with LF (pretty-printed JSON spread over lines
  is one value); `event`, `id` (ignored if it contains NUL) and `retry` (digits only) are kept;
  a line without a colon is a field with an empty value; other fields are ignored;
- lines starting with `:` are comments (keep-alives such as `: ping`);
- a UTF-8 byte order mark at the start of the stream is ignored.

Reads may split anywhere (inside a CRLF pair, a multi-byte UTF-8 character or a field name):
blocks are cut on whole bytes and values stay bytes, so they are decoded only when whole.
Bytes of an unfinished block are kept as a list of pieces (no re-copying per read) up to
`MAX_BLOCK_BYTES` (1 MiB); a longer block is handed back as it arrives in *pass-through*
blocks (`complete` false, no fields) until its end, and counted in `oversized`.
`close()` hands back what is left when the stream ends: an unterminated last block is parsed
as if it had ended (lenient; the spec would drop it).
"""

from __future__ import annotations

MAX_BLOCK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_LF, _CR = 10, 13


class Block:
    """The bytes of one block exactly as read (`raw`) and its fields; `data` is None when the
    block dispatches no event (comments only, blank, or a pass-through piece of an oversized block)."""

    __slots__ = ("raw", "event", "data", "id", "retry", "complete")

    def __init__(self, raw: bytes, complete: bool = True) -> None:
        self.raw = raw
        self.complete = complete
        self.event = ""
        self.data: bytes | None = None
        self.id: bytes | None = None
        self.retry: int | None = None


def _value(raw: bytes, start: int, end: int) -> bytes:
    """A field's value: raw[start:end] without one leading space."""
    return raw[start + 1:end] if raw[start:start + 1] == b" " else raw[start:end]


def parse_block(raw: bytes) -> Block:
    """The fields of one whole block (its bytes include the closing blank line)."""
    block = Block(raw)
    if raw[-2:] == b"\n\n" and b"\r" not in raw:  # the common shapes: `data: x` or `event: e` + `data: x`
        first = raw.find(b"\n")
        if first == len(raw) - 2 and raw[:5] == b"data:":
            block.data = _value(raw, 5, first)
            return block
        if (raw[:6] == b"event:" and raw[first + 1:first + 6] == b"data:"
                and raw.find(b"\n", first + 1) == len(raw) - 2):
            block.event = _value(raw, 6, first).decode("utf-8", "replace")
            block.data = _value(raw, first + 6, len(raw) - 2)
            return block
    data: list[bytes] | None = None
    for line in raw.splitlines():  # bytes.splitlines breaks at LF, CR and CRLF only
        if not line or line[0] == 58:  # blank, or a ":" comment
            continue
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1:]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            if data is None:
                data = [value]
            else:
                data.append(value)
        elif name == b"event":
            block.event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                block.id = value
        elif name == b"retry" and value.isdigit():
            block.retry = int(value)
    if data is not None:
        block.data = data[0] if len(data) == 1 else b"\n".join(data)
    return block


class SseParser:
    """Feed raw bytes as they arrive; get back the blocks they complete, in order."""

    __slots__ = ("_pieces", "_size", "_line_start", "_cr", "_blank_cr", "_first", "_skip", "limit",
                 "oversized")

    def __init__(self, limit: int = MAX_BLOCK_BYTES) -> None:
        self._pieces: list[bytes] = []  # bytes of the unfinished block
        self._size = 0
        self._line_start = True  # the next byte begins a line
        self._cr = False  # the last byte read was a CR line end (a following LF belongs to it)
        self._blank_cr = False  # ... and that CR ended a blank line: the block ends after it (and its LF)
        self._first = True  # no block parsed yet (a BOM may open the stream)
        self._skip = False  # inside an oversized block: pass its bytes through until it ends
        self.limit = limit
        self.oversized = 0

    def feed(self, chunk: bytes) -> list[Block]:
        out: list[Block] = []
        if not chunk:
            return out
        pos = 0
        start = 0  # where the unfinished block begins in `chunk` (its earlier bytes are in _pieces)
        if self._cr:
            self._cr = False
            if chunk[0] == _LF:
                pos = 1
            if self._blank_cr:
                self._blank_cr = False
                start = self._end(chunk, 0, pos, out)
        if b"\r" in chunk:
            start = self._scan_any(chunk, pos, start, out)
        else:
            start = self._scan_lf(chunk, pos, start, out)
        if start < len(chunk):
            self._hold(chunk, start, out)
        return out

    def close(self) -> list[Block]:
        """The stream ended: the last block, if its closing blank line never came."""
        self._cr = self._blank_cr = False
        self._line_start = True
        if not self._pieces:
            self._skip = False
            return []
        raw = b"".join(self._pieces)
        self._pieces, self._size = [], 0
        if self._skip:
            self._skip = False
            return [Block(raw, complete=False)]
        return [self._parse(raw)]

    def _scan_lf(self, chunk: bytes, pos: int, start: int, out: list[Block]) -> int:
        """Blocks in a read with no CR: each ends at a blank line, i.e. at `\\n\\n` (or a `\\n`
        that begins the read right after a line end)."""
        size = len(chunk)
        line_start = self._line_start or pos > 0
        while pos < size:
            if line_start and chunk[pos] == _LF:
                end = pos + 1
            else:
                at = chunk.find(b"\n\n", pos)
                if at < 0:
                    break
                end = at + 2
            start = self._end(chunk, start, end, out)
            pos, line_start = end, True
        self._line_start = chunk[size - 1] == _LF
        return start

    def _scan_any(self, chunk: bytes, pos: int, start: int, out: list[Block]) -> int:
        """Blocks in a read with CRs: walk its line ends (LF, CR or CRLF), one find per kind."""
        size = len(chunk)
        line_start = self._line_start or pos > 0
        next_lf = chunk.find(b"\n", pos)
        next_cr = chunk.find(b"\r", pos)
        while pos < size:
            if next_lf < 0 and next_cr < 0:
                line_start = False
                break
            at = next_cr if next_lf < 0 or 0 <= next_cr < next_lf else next_lf
            blank = line_start and at == pos
            if at == next_cr:
                if at + 1 == size:  # a CR at the end of the read: is an LF coming?
                    self._cr = True
                    self._blank_cr = blank
                    pos, line_start = size, True
                    break
                end = at + 2 if chunk[at + 1] == _LF else at + 1
            else:
                end = at + 1
            if blank:
                start = self._end(chunk, start, end, out)
            pos, line_start = end, True
            if next_lf < end:
                next_lf = chunk.find(b"\n", end)
            if next_cr < end:
                next_cr = chunk.find(b"\r", end)
        self._line_start = line_start
        return start

    def _end(self, chunk: bytes, start: int, end: int, out: list[Block]) -> int:
        """A block ends at `end` of this read; returns where the next one starts."""
        part = chunk[start:end]
        if self._pieces:
            self._pieces.append(part)
            part = b"".join(self._pieces)
            self._pieces, self._size = [], 0
        if self._skip:
            self._skip = False
            out.append(Block(part, complete=False))
        else:
            out.append(self._parse(part))
        return end

    def _hold(self, chunk: bytes, start: int, out: list[Block]) -> None:
        """Keep the unfinished block's bytes; past the limit, pass them through instead."""
        part = chunk[start:]
        if self._skip:
            out.append(Block(part, complete=False))
            return
        self._pieces.append(part)
        self._size += len(part)
        if self._size > self.limit:
            self._skip = True
            self.oversized += 1
            out.append(Block(b"".join(self._pieces), complete=False))
            self._pieces, self._size = [], 0

    def _parse(self, raw: bytes) -> Block:
        if self._first:
            self._first = False
            if raw.startswith(_BOM):
                block = parse_block(raw[3:])
                block.raw = raw
                return block
        return parse_block(raw)
