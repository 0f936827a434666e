"""Validation of inference request bodies at the edge (pure; msgspec).

The view types decode only what the proxy checks or reads; every other field is
left in the raw body, which is what goes upstream. Unknown fields are allowed and
passed through untouched. A violation becomes a 400 naming the field and the rule.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from proxy.errors import BadRequest

NOT_GIVEN = msgspec.Raw()  # a raw field the body left out


def given(raw: msgspec.Raw) -> bool:
    """Whether a raw field was sent with a value (not left out, not null)."""
    return len(raw) > 0 and bytes(raw) != b"null"


Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class InputAudio(msgspec.Struct, kw_only=True):
    data: str = ""


class FilePart(msgspec.Struct, kw_only=True):
    file_id: str | None = None
    file_data: str | None = None


class ContentPart(msgspec.Struct, kw_only=True):
    type: str
    text: str | None = None
    input_audio: InputAudio | None = None  # inline base64 audio (billing: its size bounds its tokens)
    file: FilePart | None = None


class ChatTool(msgspec.Struct, kw_only=True):
    type: str = "function"
    function: msgspec.Raw = NOT_GIVEN  # the schema the template renders (billing: counted as prompt)


class Message(msgspec.Struct, kw_only=True):
    role: Role
    content: str | list[ContentPart] | None = None
    tool_calls: list[msgspec.Raw] | None = None
    tool_call_id: str | None = None


class StreamOptions(msgspec.Struct, kw_only=True):
    include_usage: bool | None = None


class ChatRequest(msgspec.Struct, kw_only=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    frequency_penalty: Annotated[float, msgspec.Meta(ge=-2, le=2)] | None = None
    presence_penalty: Annotated[float, msgspec.Meta(ge=-2, le=2)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=128)] | None = None
    stop: str | Annotated[list[str], msgspec.Meta(max_length=4)] | None = None
    tools: list[ChatTool] | None = None
    # cost-raising fields, refused unless priced (`proxy.cost_fields`)
    service_tier: str | None = None
    modalities: list[str] | None = None
    audio: msgspec.Raw = NOT_GIVEN
    web_search_options: msgspec.Raw = NOT_GIVEN


_chat_decoder = msgspec.json.Decoder(ChatRequest)


def explain(exc: msgspec.ValidationError) -> str:
    """Turn msgspec's "<rule> - at `$.<path>`" into a message naming field and rule."""
    text = str(exc)
    rule, sep, where = text.rpartition(" - at `$")
    if not sep:
        rule, where = text, ""
    where = where.rstrip("`").lstrip(".")
    if rule.startswith("Object missing required field"):
        field = rule.split("`")[1]
        return f"Missing required field '{where + '.' if where else ''}{field}'."
    if not where:
        return f"Invalid request body: {rule}. Send a JSON object with 'model' and 'messages'."
    return f"Invalid value for '{where}': {rule}."


def parse_chat(body: bytes) -> ChatRequest:
    """Decode and check a chat-completions body, or raise BadRequest saying why."""
    try:
        req = _chat_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(explain(exc)) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON ({exc}). Send a JSON object.") from None
    for i, message in enumerate(req.messages):
        if message.content is None and message.role != "assistant":
            raise BadRequest(f"Missing required field 'messages[{i}].content' for role '{message.role}'.")
        if message.role == "tool" and not message.tool_call_id:
            raise BadRequest(f"Missing required field 'messages[{i}].tool_call_id' for a tool message.")
        if message.content is None and not message.tool_calls:
            raise BadRequest(f"'messages[{i}]' needs 'content' or 'tool_calls'.")
    return req
