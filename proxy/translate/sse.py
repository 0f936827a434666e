"""Incremental SSE parsing: bytes in any chunking -> complete (event, data) pairs (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SseParser:
    """Feed raw bytes as they arrive; get back the events completed by them.

    Follows the SSE rules the SDKs use: lines end in LF, CRLF or CR; `data:` lines of one
    event are joined with LF; lines starting with `:` are comments; a blank line ends an event.
    """

    _buffer: bytes = b""
    _event: str = ""
    _data: list[bytes] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # a CR may be the first half of a CRLF: wait for the next byte
                buffer, self._buffer = buffer[:-1], b"\r"
            else:
                self._buffer = b""
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buffer.split(b"\n")
            self._buffer = lines.pop() + self._buffer
        else:
            lines = buffer.split(b"\n")
            self._buffer = lines.pop()
        out: list[tuple[str, bytes]] = []
        for line in lines:
            if not line:
                if self._data or self._event:
                    out.append((self._event, b"\n".join(self._data)))
                self._event, self._data = "", []
                continue
            if line.startswith(b":"):
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
        return out

    def close(self) -> list[tuple[str, bytes]]:
        """Events left when the stream ended without a final blank line."""
        tail = self.feed(b"\n\n") if self._buffer or self._data or self._event else []
        return tail
