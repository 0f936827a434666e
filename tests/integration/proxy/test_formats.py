"""Every API format through the proxy, driven by the real SDKs against the fake provider.

test/claude is served by an Anthropic-format listing, deepseek/deepseek-chat by an OpenAI-format one.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from fake_provider.audio import pcm_samples, wav_bytes
from tests.integration.proxy.conftest import FakeStats
from tests.support.market import Market
from tests.support.procs import Server

TOOLS_ANTHROPIC = [{"name": "lookup", "description": "Look something up",
                    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
TOOLS_OPENAI = [{"type": "function", "function": {"name": "lookup", "description": "Look something up",
                                                  "parameters": {"type": "object",
                                                                 "properties": {"q": {"type": "string"}}}}}]
HELLO = [{"role": "user", "content": "Hello there, fake!"}]


@pytest.fixture
def claude(proxy: Server, market: Market) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=proxy.url, api_key=market.keys["main"], max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.mark.parametrize("model", ["test/claude", "deepseek/deepseek-chat"])
def test_anthropic_sdk_text_json(claude: anthropic.Anthropic, model: str) -> None:
    raw = claude.messages.with_raw_response.create(model=model, max_tokens=100, messages=HELLO,
                                                    system="Be brief.")  # type: ignore[arg-type]
    message = raw.parse()
    assert raw.headers["request-id"] == raw.headers["x-request-id"]
    assert message.role == "assistant" and message.content[0].type == "text"
    assert message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", ["test/claude", "deepseek/deepseek-chat"])
def test_anthropic_sdk_stream_events_in_order(claude: anthropic.Anthropic, model: str) -> None:
    kinds: list[str] = []
    with claude.messages.stream(model=model, max_tokens=100, messages=HELLO) as stream:  # type: ignore[arg-type]
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds and "message_delta" in kinds
    assert final.content[0].type == "text" and final.content[0].text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", ["test/claude", "deepseek/deepseek-chat"])
@pytest.mark.parametrize("streamed", [False, True])
def test_anthropic_sdk_tool_use(claude: anthropic.Anthropic, model: str, streamed: bool) -> None:
    kwargs = {"model": model, "max_tokens": 100, "messages": HELLO, "tools": TOOLS_ANTHROPIC}
    if streamed:
        with claude.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
            message = stream.get_final_message()
    else:
        message = claude.messages.create(**kwargs)  # type: ignore[arg-type]
    block = message.content[-1]
    assert block.type == "tool_use" and block.name == "lookup" and block.input == {"q": "fake"}
    assert message.stop_reason == "tool_use"
    # the result goes back as a tool_result block (translated to a tool message for OpenAI sellers)
    follow = claude.messages.create(model=model, max_tokens=100, messages=[  # type: ignore[arg-type]
        *HELLO, {"role": "assistant", "content": message.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "42"}]}])
    assert follow.content


@pytest.mark.parametrize("streamed", [False, True])
def test_openai_sdk_to_anthropic_seller(client: openai.OpenAI, streamed: bool) -> None:
    if not streamed:
        resp = client.chat.completions.create(model="test/claude", messages=HELLO)  # type: ignore[arg-type]
        assert resp.choices[0].message.content and resp.choices[0].finish_reason == "stop"
        assert resp.usage is not None and resp.usage.prompt_tokens > 0
        return
    chunks = list(client.chat.completions.create(model="test/claude", messages=HELLO, stream=True,  # type: ignore[arg-type]
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


@pytest.mark.parametrize("streamed", [False, True])
def test_openai_sdk_tools_to_anthropic_seller(client: openai.OpenAI, streamed: bool, fake_stats: FakeStats) -> None:
    kwargs = {"model": "test/claude", "messages": HELLO, "tools": TOOLS_OPENAI, "parallel_tool_calls": False}
    if streamed:
        calls: dict[int, dict[str, str]] = {}
        finish = None
        for chunk in client.chat.completions.create(stream=True, **kwargs):  # type: ignore[call-overload]
            for call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        assert finish == "tool_calls"
        assert [(c["name"], c["arguments"]) for c in calls.values()] == [("lookup", '{"q": "fake"}')]
    else:
        resp = client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
        call = resp.choices[0].message.tool_calls[0]
        assert resp.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "lookup" and call.function.arguments == '{"q":"fake"}'
    sent = fake_stats.last_requests(1)[0]["body"]
    assert sent["tools"][0]["input_schema"]["type"] == "object"
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_usage_is_the_same_either_way(client: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    via_openai = client.chat.completions.create(model="test/claude", messages=HELLO)  # type: ignore[arg-type]
    native = claude.messages.create(model="test/claude", max_tokens=100, messages=HELLO)  # type: ignore[arg-type]
    assert via_openai.usage is not None
    assert via_openai.usage.prompt_tokens == native.usage.input_tokens
    assert via_openai.usage.completion_tokens == native.usage.output_tokens
    openai_native = client.chat.completions.create(model="deepseek/deepseek-chat", messages=HELLO)  # type: ignore[arg-type]
    translated = claude.messages.create(model="deepseek/deepseek-chat", max_tokens=100, messages=HELLO)  # type: ignore[arg-type]
    assert openai_native.usage is not None
    assert openai_native.usage.prompt_tokens == translated.usage.input_tokens
    assert openai_native.usage.completion_tokens == translated.usage.output_tokens


def test_anthropic_errors_have_anthropic_shape(proxy: Server, market: Market) -> None:
    with anthropic.Anthropic(base_url=proxy.url, api_key="sk-df-nope", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as err:
            bad.messages.create(model="test/claude", max_tokens=10, messages=HELLO)  # type: ignore[arg-type]
    assert err.value.body == {"type": "error", "error": {"type": "authentication_error",
                                                         "message": err.value.body["error"]["message"]}}  # type: ignore[index]
    resp = httpx.post(proxy.url + "/v1/messages", headers={"x-api-key": market.keys["main"]},
                      json={"model": "test/claude", "messages": HELLO})
    assert resp.status_code == 400
    assert resp.json()["error"] == {"type": "invalid_request_error", "message": "Missing required field 'max_tokens'."}
    resp = httpx.post(proxy.url + "/v1/messages", headers={"x-api-key": market.keys["main"]},
                      json={"model": "nope/nope", "max_tokens": 5, "messages": HELLO})
    assert resp.status_code == 404 and resp.json()["error"]["type"] == "not_found_error"
    resp = httpx.post(proxy.url + "/v1/messages", headers={"x-api-key": market.keys["main"]},
                      json={"model": "test/claude-broken", "max_tokens": 5, "messages": HELLO})
    assert resp.status_code == 502 and resp.json()["type"] == "error"
    resp = httpx.post(proxy.url + "/v1/messages", headers={"x-api-key": market.keys["main"]},
                      json={"model": "test/claude", "max_tokens": 5, "messages": HELLO, "temperature": 1.5})
    assert resp.status_code == 400 and "temperature" in resp.json()["error"]["message"]


@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_mid_stream_failure_is_an_error_event(proxy: Server, market: Market, sdk: str) -> None:
    if sdk == "anthropic":
        with anthropic.Anthropic(base_url=proxy.url, api_key=market.keys["main"], max_retries=0) as claude:
            with pytest.raises(anthropic.APIStatusError, match="mid"):
                with claude.messages.stream(model="test/claude-closing", max_tokens=100,  # type: ignore[arg-type]
                                            messages=HELLO) as stream:
                    stream.get_final_message()
        return
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=market.keys["main"], max_retries=0) as client:
        with pytest.raises(openai.APIError, match="mid"):
            list(client.chat.completions.create(model="test/claude-closing", messages=HELLO,  # type: ignore[arg-type]
                                                stream=True))


def test_embeddings(client: openai.OpenAI, fake_stats: FakeStats) -> None:
    one = client.embeddings.create(model="test/embed", input="hello")
    assert len(one.data) == 1 and one.usage.prompt_tokens > 0
    many = client.embeddings.create(model="test/embed", input=["a", "b", "c"], dimensions=4)
    assert [len(d.embedding) for d in many.data] == [4, 4, 4]
    assert fake_stats.last_requests(1)[0]["body"]["dimensions"] == 4
    b64 = client.embeddings.with_raw_response.create(model="test/embed", input="x", encoding_format="base64")
    assert isinstance(b64.http_response.json()["data"][0]["embedding"], str)
    with pytest.raises(openai.BadRequestError, match="does not support embeddings"):
        client.embeddings.create(model="deepseek/deepseek-chat", input="hello")


def test_speech_streams_audio_bytes(client: openai.OpenAI) -> None:
    with client.audio.speech.with_streaming_response.create(model="test/tts", voice="alloy", input="Hello world",
                                                            response_format="wav", speed=2.0) as resp:
        assert resp.headers["content-type"] == "audio/wav"
        data = b"".join(resp.iter_bytes())
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 44
    with pytest.raises(openai.BadRequestError, match="speed"):
        client.audio.speech.create(model="test/tts", voice="alloy", input="hi", speed=4.5)


def test_transcription_upload(client: openai.OpenAI, proxy: Server, market: Market) -> None:
    wav = wav_bytes(pcm_samples(2.0))
    result = client.audio.transcriptions.create(model="test/whisper", file=("hello.wav", wav, "audio/wav"))
    assert result.text == f"fake transcript of hello.wav ({len(wav)} bytes)"
    assert result.usage is not None and result.usage.type == "duration" and result.usage.seconds == 2
    auth = {"Authorization": f"Bearer {market.keys['main']}"}
    # curl's order (file before model) works too
    files = [("file", ("a.mp3", b"\xff\xfb" * 100, "audio/mpeg")), ("model", (None, "test/whisper"))]
    assert httpx.post(proxy.url + "/v1/audio/transcriptions", headers=auth, files=files).status_code == 200
    bad = httpx.post(proxy.url + "/v1/audio/transcriptions", headers=auth,
                     files={"file": ("notes.txt", b"hello", "text/plain")}, data={"model": "test/whisper"})
    assert bad.status_code == 400 and "Unsupported audio file" in bad.json()["error"]["message"]
    big = httpx.post(proxy.url + "/v1/audio/transcriptions", headers=auth,
                     files={"file": ("big.wav", b"\0" * 400_000, "audio/wav")}, data={"model": "test/whisper"})
    assert big.status_code == 413


def test_transcription_too_large_without_length(client: openai.OpenAI, proxy: Server, market: Market) -> None:
    def body() -> Iterator[bytes]:
        yield (b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ntest/whisper\r\n'
               b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\n')
        for _ in range(40):
            yield b"\0" * 10_000
        yield b"\r\n--b--\r\n"
    resp = httpx.post(proxy.url + "/v1/audio/transcriptions", content=body(),
                      headers={"Authorization": f"Bearer {market.keys['main']}",
                               "Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 413


def test_models_show_capabilities_and_units(proxy: Server) -> None:
    models = {m["id"]: m for m in httpx.get(proxy.url + "/v1/models").json()["data"]}
    assert models["test/embed"]["capabilities"] == ["embeddings"]
    assert models["test/tts"]["pricing"]["unit"] == "usd_per_million_characters"
    assert models["test/whisper"]["pricing"]["unit"] == "usd_per_million_audio_seconds"
    assert models["deepseek/deepseek-chat"]["pricing"]["unit"] == "usd_per_million_tokens"
    assert models["test/claude"]["context_length"] == 8192
