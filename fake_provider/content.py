"""What the fake provider answers: deterministic content, tool calls and token counts (pure).

Rules (tests compute expected usage from them):

- **prompt_tokens** (chat) = ``max(1, ceil(C / 4))`` where ``C`` is the total number of characters
  (Python ``len``) of every message's ``content`` when it is a string, plus the ``text`` of every content
  part that has a string ``text``. Other fields (names, tool calls, tools) do not count.
- **prompt_tokens** (embeddings) = the same rule with ``C`` = total characters of all input strings; an
  input given as token ids counts one token per id. ``total_tokens`` = ``prompt_tokens``.
- **Content**: ``chunks`` tokens ``"tok0"``, ``" tok1"``, ... ``" tok{n-1}"`` (joined: ``"tok0 tok1 ..."``);
  with the ``text`` knob, one token per whitespace-separated word, the first bare and the rest with one
  leading space. If the request sets ``max_completion_tokens`` or ``max_tokens`` below that count, the
  content is cut to that many tokens and ``finish_reason`` is ``"length"``, else ``"stop"``.
- **Tool call**: if the request has a non-empty ``tools`` list and ``tool_choice`` is not ``"none"``, the
  answer is one call to the named tool (``tool_choice: {"type": "function", "function": {"name": ...}}``) or
  else to the first tool, with arguments ``{"q": "fake"}`` (as the string ``'{"q": "fake"}'``) and
  ``finish_reason: "tool_calls"``. Streamed, the arguments arrive in :data:`TOOL_ARGUMENT_FRAGMENTS`.
- **completion_tokens** = number of content tokens, or for a tool call the number of argument fragments (2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

FinishReason = Literal["stop", "length", "tool_calls"]

TOOL_ARGUMENTS = '{"q": "fake"}'
TOOL_ARGUMENT_FRAGMENTS: tuple[str, ...] = ('{"q": ', '"fake"}')


class ToolCall(msgspec.Struct, frozen=True):
    id: str
    name: str
    arguments: str = TOOL_ARGUMENTS


class Answer(msgspec.Struct, frozen=True):
    """The planned answer: either content tokens or one tool call."""

    tokens: tuple[str, ...]
    tool_call: ToolCall | None
    finish_reason: FinishReason
    prompt_tokens: int
    reported_completion: int | None = None  # the usage to report instead of the count (knobs)
    cached_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        return len(TOOL_ARGUMENT_FRAGMENTS) if self.tool_call is not None else len(self.tokens)

    @property
    def content(self) -> str:
        return "".join(self.tokens)

    @property
    def steps(self) -> int:
        """Number of paced content events in a stream (tokens or argument fragments)."""
        return self.completion_tokens


def count_tokens(chars: int) -> int:
    """ceil(chars / 4), at least 1."""
    return max(1, -(-chars // 4))


def message_chars(messages: object) -> int:
    """Total characters of the text content of chat messages."""
    total = 0
    if not isinstance(messages, list):
        return 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"])
    return total


def prompt_tokens(body: Mapping[str, object]) -> int:
    return count_tokens(message_chars(body.get("messages")))


def content_tokens(chunks: int, text: str | None) -> tuple[str, ...]:
    words = text.split() if text is not None else [f"tok{i}" for i in range(chunks)]
    return tuple(word if i == 0 else " " + word for i, word in enumerate(words))


def token_limit(body: Mapping[str, object], limit_field: str = "") -> int | None:
    for field in (limit_field,) if limit_field else ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def chosen_tool(body: Mapping[str, object]) -> str | None:
    """Name of the tool to call, or None when the answer is plain content."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        function = choice.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    first = tools[0]
    if isinstance(first, dict):
        function = first.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
        if isinstance(first.get("name"), str):
            return str(first["name"])
    return "tool"


def plan_answer(body: Mapping[str, object], *, tokens: tuple[str, ...], call_id: str,
                limit_field: str = "") -> Answer:
    """Decide the whole answer to a chat completion request; ``tokens`` come from :func:`content_tokens`."""
    prompt = prompt_tokens(body)
    tool = chosen_tool(body)
    if tool is not None:
        return Answer((), ToolCall(call_id, tool), "tool_calls", prompt)
    limit = token_limit(body, limit_field)
    if limit is not None and limit < len(tokens):
        return Answer(tokens[:limit], None, "length", prompt)
    return Answer(tokens, None, "stop", prompt)


def embedding_input_tokens(value: object) -> int | None:
    """prompt_tokens of an embeddings ``input``, or None when the input is not a valid shape."""
    if isinstance(value, str):
        return count_tokens(len(value))
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(item, str) for item in value):
        return count_tokens(sum(len(item) for item in value))
    if all(isinstance(item, int) for item in value):
        return len(value)
    if all(isinstance(item, list) and all(isinstance(i, int) for i in item) for item in value):
        return max(1, sum(len(item) for item in value))
    return None
