"""The tap on a relayed OpenAI-format SSE stream (pure): reads usage, collects the streamed
text for our own count, and cuts the usage event the buyer did not ask for.

Rules (README "Billing"):
- The stream is parsed per the SSE spec (`proxy.sse`): any line ends, `data:` with or
  without a space, comments, events split across reads anywhere. Each event's `data` is read
  with a JSON parser (only the fields below), so spacing and line breaks inside the JSON do
  not matter.
- Usage: the `usage` object of any event that has one (the last one wins; vLLM may send
  cumulative usage on every chunk).
- Our count (`counted_tokens`): the tokens (`proxy.billing.tokenizer`, cl100k_base) of the
  streamed text — per choice, `delta.content`, `delta.reasoning_content` / `delta.reasoning`,
  `delta.refusal`, and each tool call's `function.name` and `function.arguments` — tokenized
  once, at the end (past 256 Ki characters the text so far is counted and dropped, so memory
  stays bounded).
- Cutting: when the proxy added `stream_options.include_usage` itself (`strip_usage`), the
  usage-only event (usage and no choices) is left out of what the buyer receives, however it is
  formatted; an event with usage *and* choices is relayed unchanged. Every other byte is relayed
  unchanged, each event as soon as its closing blank line has been read (the bytes of an
  unfinished event wait for the rest of it).
- `finished` once the upstream's `[DONE]` has been read (the answer is whole).
- An event longer than `proxy.sse.MAX_BLOCK_BYTES` is relayed as it arrives and not read
  (`oversized` counts them); a `data` that is not JSON (`[DONE]`) or not a chunk is relayed
  and not read.
"""

from __future__ import annotations

import msgspec

from proxy.billing.meter import Usage
from proxy.billing.tokenizer import count_tokens
from proxy.sse import Block, SseParser

TEXT_FLUSH_CHARS = 256 * 1024  # collected text beyond this is tokenized at once and dropped


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct):
    index: int = 0
    function: _Function | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    delta: _Delta | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] | None = None
    usage: Usage | None = None


class _UsageOnly(msgspec.Struct):  # when a chunk's choices have a shape we do not know
    choices: list[msgspec.Raw] | None = None
    usage: Usage | None = None


_chunk = msgspec.json.Decoder(_Chunk)
_usage_only = msgspec.json.Decoder(_UsageOnly)


class TextCounter:
    """Streamed text, kept per stream part (choice, field, tool call) and tokenized once at the end."""

    __slots__ = ("_parts", "_chars", "_tokens", "_family")

    def __init__(self) -> None:
        self._parts: dict[object, list[str]] = {}
        self._chars = 0
        self._tokens = 0
        self._family = ""

    def add(self, key: object, text: str) -> None:
        parts = self._parts.get(key)
        if parts is None:
            self._parts[key] = [text]
        else:
            parts.append(text)
        self._chars += len(text)
        if self._chars > TEXT_FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        self._tokens += count_tokens(("".join(parts) for parts in self._parts.values()), self._family)
        self._parts.clear()
        self._chars = 0

    def tokens(self, family: str) -> int:
        """Tokens of all the text added (the tokenizer runs once; the answer is kept)."""
        self._family = family
        if self._parts:
            self._flush()
        return self._tokens


class StreamTap:
    """Watches a relayed OpenAI-format SSE stream (see the module rules)."""

    __slots__ = ("_strip", "_sse", "_text", "events", "usage", "first_chunk_ns", "unread", "finished")

    def __init__(self, strip_usage: bool) -> None:
        self._strip = strip_usage
        self._sse = SseParser()
        self._text = TextCounter()
        self.events = 0  # events that carried completion text
        self.usage: Usage | None = None
        self.first_chunk_ns = 0
        self.unread = 0  # events with data that is not a chunk we could read (besides [DONE])
        self.finished = False  # the upstream's `[DONE]` has been read

    @property
    def oversized(self) -> int:
        return self._sse.oversized

    def observe(self, chunk: bytes, now_ns: int) -> bytes:
        """The bytes to relay now for this upstream read."""
        if not self.first_chunk_ns:
            self.first_chunk_ns = now_ns
        return self._relay(self._sse.feed(chunk))

    def close(self) -> bytes:
        """The upstream ended: the bytes of an event it never finished (relayed as they are)."""
        return self._relay(self._sse.close())

    def counted_tokens(self, family: str = "") -> int:
        return self._text.tokens(family)

    def _relay(self, blocks: list[Block]) -> bytes:
        if len(blocks) == 1:
            block = blocks[0]
            return b"" if block.data is not None and self._read(block.data) else block.raw
        return b"".join([b.raw for b in blocks if b.data is None or not self._read(b.data)])

    def _read(self, data: bytes) -> bool:
        """Meter one event's data; True if it is the usage event to cut."""
        try:
            chunk = _chunk.decode(data)
        except msgspec.MsgspecError:
            if data.strip() == b"[DONE]":
                self.finished = True
                return False
            return self._read_usage(data)
        if chunk.usage is not None:
            self.usage = chunk.usage
        choices = chunk.choices
        if not choices:
            return self._strip and chunk.usage is not None
        for choice in choices:
            delta = choice.delta
            if delta is not None:
                self._delta(choice.index, delta)
        return False

    def _read_usage(self, data: bytes) -> bool:
        self.unread += 1
        try:
            chunk = _usage_only.decode(data)
        except msgspec.MsgspecError:
            return False
        if chunk.usage is None:
            return False
        self.usage = chunk.usage
        return self._strip and not chunk.choices

    def _delta(self, index: int, delta: _Delta) -> None:
        text = self._text
        found = False
        if delta.content:
            text.add(index, delta.content)
            found = True
        if delta.reasoning_content or delta.reasoning or delta.refusal or delta.tool_calls:
            found = self._other(index, delta) or found
        if found:
            self.events += 1

    def _other(self, index: int, delta: _Delta) -> bool:
        text = self._text
        found = False
        reasoning = delta.reasoning_content or delta.reasoning
        if reasoning:
            text.add((index, "reasoning"), reasoning)
            found = True
        if delta.refusal:
            text.add((index, "refusal"), delta.refusal)
            found = True
        for call in delta.tool_calls or ():
            function = call.function
            if function is not None:
                if function.name:
                    text.add((index, "tool", call.index), function.name)
                    found = True
                if function.arguments:
                    text.add((index, "tool", call.index), function.arguments)
                    found = True
        return found
