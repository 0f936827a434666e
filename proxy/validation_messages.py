"""Validation of Anthropic Messages request bodies (`POST /v1/messages`; pure; msgspec).

Decodes only what the proxy checks; the raw body is what goes to an Anthropic-format seller,
and the decoded JSON is what the translator maps for an OpenAI-format one. A violation is a
400 naming the field and the rule, sent in Anthropic's error shape by the pipeline.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from proxy.errors import BadRequest
from proxy.validation import NOT_GIVEN, explain

_BLOCK_TYPES = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking",
                          "redacted_thinking", "search_result", "server_tool_use", "web_search_tool_result"})


class Source(msgspec.Struct, kw_only=True):
    type: str = ""
    data: str | None = None  # base64 (size bounds its tokens)


class Block(msgspec.Struct, kw_only=True):
    type: str
    text: str | None = None
    source: Source | None = None  # image / document blocks
    input: msgspec.Raw = NOT_GIVEN  # tool_use: the arguments (billing: counted as prompt)
    content: msgspec.Raw = NOT_GIVEN  # tool_result: its content (billing: counted as prompt)
    thinking: str | None = None


class Message(msgspec.Struct, kw_only=True):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class SystemBlock(msgspec.Struct, kw_only=True):
    type: Literal["text"]
    text: str


class Tool(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, object] | None = None


class ToolChoice(msgspec.Struct, kw_only=True):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MessagesRequest(msgspec.Struct, kw_only=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    system: str | list[SystemBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, msgspec.Meta(ge=0)] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    # cost-raising fields, refused unless priced (`proxy.cost_fields`)
    service_tier: str | None = None
    mcp_servers: msgspec.Raw = NOT_GIVEN
    container: msgspec.Raw = NOT_GIVEN


_decoder = msgspec.json.Decoder(MessagesRequest)


def parse_messages(body: bytes) -> MessagesRequest:
    """Decode and check a Messages body, or raise BadRequest saying why."""
    try:
        req = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(explain(exc).replace("'messages'.", "'messages' and 'max_tokens'.")) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON ({exc}). Send a JSON object.") from None
    for i, message in enumerate(req.messages):
        if isinstance(message.content, list):
            for j, block in enumerate(message.content):
                if block.type not in _BLOCK_TYPES:
                    raise BadRequest(f"Invalid value for 'messages[{i}].content[{j}].type': unknown block type "
                                     f"'{block.type}'.")
    for i, tool in enumerate(req.tools or []):
        if tool.type in (None, "custom") and tool.input_schema is None:
            raise BadRequest(f"Missing required field 'tools[{i}].input_schema'.")
    choice = req.tool_choice
    if choice is not None and choice.type == "tool" and not choice.name:
        raise BadRequest("Missing required field 'tool_choice.name' for tool_choice type 'tool'.")
    return req
