import msgspec
import pytest

from proxy.errors import BadRequest
from proxy.validation import parse_chat


def body(**fields: object) -> bytes:
    return msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields})


def test_valid_request_keeps_only_what_the_proxy_reads() -> None:
    chat = parse_chat(body(stream=True, temperature=0, top_p=1, stop="x", max_tokens=5, unknown={"a": 1}))
    assert chat.model == "m" and chat.stream is True and chat.max_tokens == 5


@pytest.mark.parametrize(
    "content",
    ["text", [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:,"}}]],
)
def test_content_may_be_a_string_or_parts(content: object) -> None:
    parse_chat(msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": content}]}))


def test_assistant_with_tool_calls_needs_no_content() -> None:
    messages = [{"role": "user", "content": "q"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
                {"role": "tool", "tool_call_id": "c", "content": "42"}]
    parse_chat(msgspec.json.encode({"model": "m", "messages": messages}))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": 2.01}, "Invalid value for 'temperature': Expected `float` <= 2.0."),
        ({"max_tokens": 0}, "Invalid value for 'max_tokens': Expected `int` >= 1."),
        ({"stop": ["1", "2", "3", "4", "5"]}, "Invalid value for 'stop': Expected `array` of length <= 4."),
        ({"messages": [{"role": "assistant"}]}, "'messages[0]' needs 'content' or 'tool_calls'."),
        ({"messages": [{"role": "user", "content": 5}]}, "Invalid value for 'messages[0].content'"),
    ],
)
def test_rule_violations_name_field_and_rule(fields: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_chat(body(**fields))
    assert info.value.message.startswith(message)


def test_non_json_and_non_object_bodies() -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_chat(b"{nope")
    with pytest.raises(BadRequest, match="Send a JSON object"):
        parse_chat(b'"text"')
