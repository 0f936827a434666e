"""Token counts for the TPM limit (pure): the reservation at admission and the real usage after.

Reservation = prompt estimate + the completion budget. The prompt estimate is one token per
4 bytes of the request body (JSON punctuation included, so it over-counts, which is the safe
side: the difference is refunded when usage is known). The completion budget is the
request's `max_completion_tokens` / `max_tokens`, else `DF_LIMITS_DEFAULT_MAX_TOKENS`.

Usage: the `usage` object of a JSON body, or of the last SSE event that carries one
(`stream_options.include_usage`); `UsageTail` keeps only the last bytes of a stream. With
no usage reported, the reservation stands as the charge.
"""

from __future__ import annotations

import msgspec

TAIL_BYTES = 8192


def reservation(body_len: int, max_tokens: int | None, default_max_tokens: int) -> int:
    return body_len // 4 + 1 + (max_tokens if max_tokens is not None else default_max_tokens)


class _Usage(msgspec.Struct):
    total_tokens: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    input_tokens: int = 0  # Anthropic
    output_tokens: int = 0


class _WithUsage(msgspec.Struct):
    usage: _Usage | None = None


_decoder = msgspec.json.Decoder(_WithUsage)


def usage_total(doc: bytes) -> int | None:
    """Total tokens of a JSON document's `usage` object, or None if it has none."""
    try:
        usage = _decoder.decode(doc).usage
    except msgspec.MsgspecError:
        return None
    if usage is None:
        return None
    if usage.total_tokens is not None:
        return usage.total_tokens
    return usage.prompt_tokens + usage.completion_tokens + usage.input_tokens + usage.output_tokens


class UsageTail:
    """The last TAIL_BYTES of a stream, to read the final `usage` from."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> None:
        buf = self._buf + chunk
        self._buf = buf[-TAIL_BYTES:] if len(buf) > TAIL_BYTES else buf

    def usage(self) -> int | None:
        buf = self._buf
        end = len(buf)
        while (pos := buf.rfind(b'"usage"', 0, end)) >= 0:
            start = buf.rfind(b"data:", 0, pos)
            if start < 0:
                return None
            stop = buf.find(b"\n", pos)
            total = usage_total(buf[start + 5: stop if stop >= 0 else len(buf)].strip())
            if total is not None:
                return total
            end = start
        return None
