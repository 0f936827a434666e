"""The fake provider served by Granian, driven by the real OpenAI SDK."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.support.procs import Server, granian

APP = "fake_provider.asgi:app"
MESSAGES: list[Any] = [{"role": "user", "content": "hello world!"}]  # 12 characters -> 3 prompt tokens
TOOLS: list[Any] = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with granian(APP, log_dir=tmp_path_factory.mktemp("fake"), ready_path="/healthz") as srv:
        yield srv


@pytest.fixture(autouse=True)
def reset(server: Server) -> None:
    httpx.post(server.url + "/_reset").raise_for_status()


def client(server: Server, knobs: str = "", **kwargs: Any) -> openai.OpenAI:
    base = f"{server.url}/k/{knobs}/v1" if knobs else f"{server.url}/v1"
    return openai.OpenAI(base_url=base, api_key=kwargs.pop("api_key", "x"), max_retries=kwargs.pop("max_retries", 0),
                         **kwargs)


def stats(server: Server) -> dict[str, int]:
    result: dict[str, int] = httpx.get(server.url + "/_stats").json()
    return result


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_json_completion(server: Server) -> None:
    completion = client(server).chat.completions.create(model="fake-model", messages=MESSAGES)
    assert completion.model == "fake-model"
    assert completion.choices[0].message.content == "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 8)
    assert completion.usage.total_tokens == 11


def test_stream_with_usage_in_last_chunk(server: Server) -> None:
    chunks = list(client(server, "chunks=3").chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "tok0 tok1 tok2"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 3)
    assert all(c.usage is None for c in chunks[:-1])
    assert stats(server)["streams_completed"] == 1


def test_usage_knob_off(server: Server) -> None:
    c = client(server, "usage=false")
    assert c.chat.completions.create(model="m", messages=MESSAGES).usage is None
    chunks = list(c.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True}))
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


def test_text_knob_from_body(server: Server) -> None:
    completion = client(server, "chunks=2").chat.completions.create(
        model="m", messages=MESSAGES, extra_body={"fake": {"text": "hello from upstream"}})
    assert completion.choices[0].message.content == "hello from upstream"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_tool_call_json_and_stream(server: Server) -> None:
    c = client(server)
    completion = c.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS)
    assert completion.choices[0].finish_reason == "tool_calls"
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and calls[0].type == "function"
    assert (calls[0].function.name, calls[0].function.arguments) == ("lookup", '{"q": "fake"}')

    merged: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in c.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, stream=True):
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or []:
            slot = merged.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] += call.id or ""
            if call.function is not None:
                slot["name"] += call.function.name or ""
                slot["arguments"] += call.function.arguments or ""
    assert finish == "tool_calls"
    assert merged[0]["name"] == "lookup" and merged[0]["arguments"] == '{"q": "fake"}'
    assert merged[0]["id"].startswith("call_")


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        ("status=400", openai.BadRequestError),
        ("status=403", openai.PermissionDeniedError),
        ("status=404", openai.NotFoundError),
        ("status=429", openai.RateLimitError),
        ("status=500", openai.InternalServerError),
        ("status=503", openai.InternalServerError),
        ("require_key=sk-upstream", openai.AuthenticationError),
        ("chunks=many", openai.BadRequestError),
    ],
)
def test_error_status_raises_the_sdk_class(server: Server, knobs: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        client(server, knobs).chat.completions.create(model="m", messages=MESSAGES)


def test_error_body_and_invalid_knob_message(server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(server).chat.completions.create(model="m", messages=MESSAGES, extra_body={"fake": {"hang": "x"}})
    assert "`hang`" in info.value.message
    response = httpx.post(server.url + "/k/status=502/v1/chat/completions", json={"model": "m"})
    assert response.status_code == 502
    assert response.json() == {"error": {"message": "fake provider error: status knob 502", "type": "server_error",
                                         "param": None, "code": None}}


def test_retry_after_is_honoured_by_the_sdk(server: Server) -> None:
    response = httpx.post(server.url + "/k/retry_after=7/v1/chat/completions", json={"model": "m"})
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    with pytest.raises(openai.RateLimitError):
        client(server, "retry_after=0.01", max_retries=2).chat.completions.create(model="m", messages=MESSAGES)
    assert stats(server)["requests"] == 1 + 3


def test_require_key_accepts_the_right_key(server: Server) -> None:
    completion = client(server, "require_key=sk-upstream", api_key="sk-upstream").chat.completions.create(
        model="m", messages=MESSAGES)
    assert completion.choices[0].message.content


def test_close_after_breaks_the_stream(server: Server) -> None:
    got = []
    stream = client(server, "close_after=2").chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            got.append(chunk)
    assert [c.choices[0].delta.content for c in got] == ["", "tok0", " tok1"]
    counters = stats(server)
    assert (counters["streams_aborted"], counters["streams_completed"]) == (1, 0)


def test_paced_chunks_arrive_before_the_stream_ends(server: Server) -> None:
    stream = client(server, "tps=20,chunks=20").chat.completions.create(model="m", messages=MESSAGES, stream=True)
    seen_in_flight = []
    contents = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            contents.append(chunk.choices[0].delta.content)
            if len(contents) in (1, 2):
                counters = stats(server)
                seen_in_flight.append((counters["in_flight"], counters["streams_completed"]))
    assert seen_in_flight == [(1, 0), (1, 0)]
    assert len(contents) == 20
    wait_for(lambda: stats(server)["streams_completed"] == 1)


def test_client_disconnect_mid_stream_is_counted(server: Server) -> None:
    stream = client(server, "tps=10,chunks=100").chat.completions.create(model="m", messages=MESSAGES, stream=True)
    iterator = iter(stream)
    next(iterator)
    next(iterator)
    stream.close()
    wait_for(lambda: stats(server)["streams_disconnected"] == 1)
    counters = stats(server)
    assert (counters["streams_completed"], counters["in_flight"]) == (0, 0)


def test_client_disconnect_from_an_unpaced_stream_is_counted(server: Server) -> None:
    request = {"model": "m", "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", server.url + "/k/chunks=100000/v1/chat/completions", json=request) as response:
        next(response.iter_bytes())
    wait_for(lambda: stats(server)["streams_disconnected"] == 1)
    assert stats(server)["streams_completed"] == 0


def test_hang_body_then_disconnect(server: Server) -> None:
    stream = client(server, "hang=body").chat.completions.create(model="m", messages=MESSAGES, stream=True)
    iterator = iter(stream)
    assert next(iterator).choices[0].delta.role == "assistant"
    assert next(iterator).choices[0].delta.content == "tok0"
    stream.close()
    wait_for(lambda: stats(server)["streams_disconnected"] == 1)


def test_hang_headers_times_the_sdk_out(server: Server) -> None:
    with pytest.raises(openai.APITimeoutError):
        client(server, "hang=headers", timeout=0.5).chat.completions.create(model="m", messages=MESSAGES)
    wait_for(lambda: stats(server)["in_flight"] == 0)


def test_embeddings(server: Server) -> None:
    c = client(server)
    default = c.embeddings.create(model="emb", input=["hello", "world"])  # the SDK asks for base64
    assert [len(item.embedding) for item in default.data] == [8, 8]
    assert default.usage.prompt_tokens == 3  # 10 characters
    floats = c.embeddings.create(model="emb", input="hello", dimensions=4, encoding_format="float")
    again = c.embeddings.create(model="emb", input="hello", dimensions=4, encoding_format="float")
    assert len(floats.data[0].embedding) == 4
    assert floats.data[0].embedding == again.data[0].embedding
    raw = httpx.post(server.url + "/v1/embeddings",
                     json={"model": "emb", "input": "hello", "dimensions": 4, "encoding_format": "base64"}).json()
    decoded = struct.unpack("<4f", base64.b64decode(raw["data"][0]["embedding"]))
    assert all(abs(x - y) < 1e-6 for x, y in zip(decoded, floats.data[0].embedding, strict=True))


def test_models_lists_requested_names(server: Server) -> None:
    c = client(server)
    c.chat.completions.create(model="seller-model-x", messages=MESSAGES)
    names = {model.id for model in c.models.list()}
    assert {"fake-model", "seller-model-x"} <= names


def test_requests_record_headers_and_unknown_fields(server: Server) -> None:
    c = client(server, "chunks=1", api_key="sk-seller-123")
    c.chat.completions.create(model="m", messages=MESSAGES, extra_body={"provider_hint": {"x": 1}},
                              extra_headers={"X-Custom": "yes"})
    recorded = httpx.get(server.url + "/_requests", params={"last": 1}).json()["requests"]
    assert len(recorded) == 1
    request = recorded[0]
    assert (request["method"], request["path"]) == ("POST", "/k/chunks=1/v1/chat/completions")
    assert request["headers"]["authorization"] == "Bearer sk-seller-123"
    assert request["headers"]["x-custom"] == "yes"
    assert request["body"]["provider_hint"] == {"x": 1}
    assert request["body"]["messages"] == MESSAGES


def test_unknown_path_is_an_openai_404(server: Server) -> None:
    response = httpx.get(server.url + "/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert httpx.get(server.url + "/healthz").text == "ok"


def test_environment_defaults_then_path_then_body(tmp_path: Path) -> None:
    env = {"DF_FAKE_CHUNKS": "3", "DF_FAKE_API_KEY": "sk-env"}
    with granian(APP, log_dir=tmp_path, env=env, ready_path="/healthz") as srv:
        with pytest.raises(openai.AuthenticationError):
            client(srv).chat.completions.create(model="m", messages=MESSAGES)
        plain = client(srv, api_key="sk-env")
        assert plain.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == (
            "tok0 tok1 tok2")
        by_path = client(srv, "chunks=2", api_key="sk-env")
        assert by_path.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == (
            "tok0 tok1")
        by_body = by_path.chat.completions.create(model="m", messages=MESSAGES, extra_body={"fake": {"chunks": 1}})
        assert by_body.choices[0].message.content == "tok0"


def anthropic_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Parse as the Anthropic SDK does: events without an `event:` line would be dropped, so require one."""
    events = []
    for block in response.text.removesuffix("\n\n").split("\n\n"):
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        events.append((event_line[len("event: "):], orjson.loads(data_line[len("data: "):])))
    return events


def test_anthropic_messages(server: Server) -> None:
    request = {"model": "claude-x", "max_tokens": 64, "system": "be brief",
               "messages": [{"role": "user", "content": "hello world!"}]}
    headers = {"x-api-key": "sk-up", "anthropic-version": "2023-06-01"}
    body = httpx.post(server.url + "/k/require_key=sk-up,chunks=2/v1/messages", json=request, headers=headers).json()
    assert body["content"] == [{"type": "text", "text": "tok0 tok1"}]
    assert body["usage"]["input_tokens"] == 5  # 8 + 12 characters
    streamed = httpx.post(server.url + "/k/chunks=2/v1/messages", json={**request, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = anthropic_events(streamed)
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    assert "".join(d["delta"]["text"] for k, d in events if k == "content_block_delta") == "tok0 tok1"
    error = httpx.post(server.url + "/k/status=529/v1/messages", json=request)
    assert error.status_code == 529
    assert error.json()["error"]["type"] == "overloaded_error"
    denied = httpx.post(server.url + "/k/require_key=sk-up/v1/messages", json=request)
    assert (denied.status_code, denied.json()["type"]) == (401, "error")


def test_spaced_and_crlf_knobs_write_other_servers_formats(server: Server) -> None:
    c = client(server, "spaced=true,crlf=true,chunks=2")
    completion = c.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert b'"choices": [{"index": 0, "message": {"role": "assistant"' in completion.content
    assert completion.parse().usage is not None and completion.parse().usage.completion_tokens == 2
    with httpx.stream("POST", f"{server.url}/k/spaced=true,crlf=true,chunks=2/v1/chat/completions", json={
            "model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}) as r:
        raw = r.read()
    assert raw.endswith(b"data: [DONE]\r\n\r\n") and raw.count(b"\n") == raw.count(b"\r\n")
    assert b'"delta": {"content": " tok1"}' in raw and b'"usage": {"prompt_tokens": 3, "completion_tokens": 2' in raw
    chunks = list(c.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "tok0 tok1"
    with httpx.stream("POST", f"{server.url}/k/spaced=true,crlf=true/v1/messages", json={
            "model": "m", "max_tokens": 10, "messages": MESSAGES, "stream": True}) as r:
        raw = r.read()
    assert raw.startswith(b"event: message_start\r\ndata: {\"type\": \"message_start\", ")
