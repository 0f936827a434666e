"""Every error the proxy answers: documented shape, status, a message naming the fix, x-request-id."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.integration.proxy.conftest import FakeStats, chat_body
from tests.support.market import Market
from tests.support.procs import Server

MSG = [{"role": "user", "content": "hi"}]


def post(proxy: Server, key: str | None, body: Any = None, *, content: bytes | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:
    hdrs = {"Authorization": f"Bearer {key}"} if key else {}
    hdrs.update(headers or {})
    if content is not None:
        return httpx.post(proxy.url + "/v1/chat/completions", content=content, headers=hdrs, timeout=20)
    return httpx.post(proxy.url + "/v1/chat/completions", json=body, headers=hdrs, timeout=20)


def assert_error(r: httpx.Response, status: int, type_: str, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"]
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["type"] == type_ and body["error"]["code"] == status
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (None, ["Missing API key", "Bearer"]),
        ("sk-live-abcdef", ["start with 'sk-df-'"]),
        ("TRUNCATE", ["looks truncated"]),
        ("TYPO", ["mistyped"]),
        ("UNKNOWN", ["Unknown API key"]),
        ("expired", ["expired at"]),
        ("revoked", ["revoked"]),
    ],
)
def test_bad_keys_are_401_and_say_why(proxy: Server, market: Market, key: str | None, words: list[str]) -> None:
    main = market.keys["main"]
    presented = {
        "TRUNCATE": main[:-5],
        "TYPO": main[:-1] + ("A" if main[-1] != "A" else "B"),
        "UNKNOWN": __import__("wire.keys", fromlist=["new_key"]).new_key(),
    }.get(key or "", market.keys.get(key or "", key))
    assert_error(post(proxy, presented, chat_body()), 401, "unauthorized", *words)


def test_sdk_sees_authentication_error(proxy: Server) -> None:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-df-nope", max_retries=0) as bad, \
            pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="deepseek/deepseek-chat", messages=MSG)  # type: ignore[arg-type]
    assert info.value.request_id


@pytest.mark.parametrize(
    ("key", "model", "words"),
    [
        ("suspended", "deepseek/deepseek-chat", ["suspended"]),
        ("office_only", "deepseek/deepseek-chat", ["127.0.0.1", "ip_whitelist"]),
        ("blocked_local", "deepseek/deepseek-chat", ["127.0.0.1", "ip_blacklist"]),
        ("chat_only", "qwen/qwen3-30b-a3b", ["qwen/qwen3-30b-a3b", "model_allowlist"]),
    ],
)
def test_access_rules_are_403(proxy: Server, market: Market, key: str, model: str, words: list[str]) -> None:
    assert_error(post(proxy, market.keys[key], chat_body(model)), 403, "forbidden", *words)


def test_allowlisted_model_is_served(proxy: Server, market: Market) -> None:
    assert post(proxy, market.keys["chat_only"], chat_body("deepseek/deepseek-chat")).status_code == 200


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        ({"temperature": 2.5}, ["'temperature'", "<= 2.0"]),
        ({"temperature": -0.1}, ["'temperature'", ">= 0"]),
        ({"top_p": 1.5}, ["'top_p'", "<= 1"]),
        ({"frequency_penalty": 3}, ["'frequency_penalty'", "<= 2"]),
        ({"presence_penalty": -2.5}, ["'presence_penalty'", ">= -2"]),
        ({"max_tokens": 0}, ["'max_tokens'", ">= 1"]),
        ({"stop": ["a", "b", "c", "d", "e"]}, ["'stop'", "length <= 4"]),
        ({"stop": 7}, ["'stop'"]),
        ({"messages": []}, ["'messages'", "length >= 1"]),
        ({"messages": [{"role": "robot", "content": "x"}]}, ["'messages[0].role'", "robot"]),
        ({"messages": [{"role": "user"}]}, ["messages[0].content"]),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, ["messages[0].content[0].type"]),
        ({"messages": [{"role": "tool", "content": "x"}]}, ["tool_call_id"]),
        ({"model": ""}, ["'model'"]),
        ({"stream": "yes"}, ["'stream'"]),
    ],
)
def test_invalid_fields_are_400_naming_field_and_rule(
    proxy: Server, market: Market, patch: dict[str, Any], words: list[str]
) -> None:
    assert_error(post(proxy, market.keys["main"], {**chat_body(), **patch}), 400, "bad_request", *words)


def test_missing_required_fields(proxy: Server, market: Market) -> None:
    assert_error(post(proxy, market.keys["main"], {"messages": MSG}), 400, "bad_request", "'model'")
    assert_error(post(proxy, market.keys["main"], {"model": "x"}), 400, "bad_request", "'messages'")


def test_invalid_json_wrong_type_and_empty_body(proxy: Server, market: Market) -> None:
    key = market.keys["main"]
    assert_error(post(proxy, key, content=b'{"model": ', headers={"content-type": "application/json"}),
                 400, "bad_request", "not valid JSON")
    assert_error(post(proxy, key, content=b"model=x", headers={"content-type": "application/x-www-form-urlencoded"}),
                 400, "bad_request", "Content-Type must be application/json")
    assert_error(post(proxy, key, content=b"", headers={"content-type": "application/json"}),
                 400, "bad_request", "empty")
    assert_error(post(proxy, key, content=b"[1,2]", headers={"content-type": "application/json"}),
                 400, "bad_request", "JSON object")


def test_oversized_body_is_413_before_any_upstream_call(
    proxy: Server, market: Market, fake_stats: FakeStats
) -> None:
    before = fake_stats.stats()["requests"]
    big = chat_body(messages=[{"role": "user", "content": "x" * 70_000}])
    assert_error(post(proxy, market.keys["main"], big), 413, "bad_request", "65,536-byte limit")

    def chunked() -> Any:
        yield b'{"model":"deepseek/deepseek-chat","messages":[{"role":"user","content":"'
        for _ in range(10):
            yield b"y" * 10_000
        yield b'"}]}'

    r = httpx.post(proxy.url + "/v1/chat/completions", content=chunked(), timeout=20,
                   headers={"Authorization": f"Bearer {market.keys['main']}", "content-type": "application/json"})
    assert_error(r, 413, "bad_request", "limit")
    assert fake_stats.stats()["requests"] == before


def test_unknown_model_is_404(proxy: Server, market: Market) -> None:
    assert_error(post(proxy, market.keys["main"], chat_body("nope/gpt-9")), 404, "not_found",
                 "'nope/gpt-9' does not exist", "/v1/models")


def test_model_without_sellers_is_503_market_unavailable(proxy: Server, market: Market) -> None:
    assert_error(post(proxy, market.keys["main"], chat_body("test/no-sellers")), 503, "market_unavailable",
                 "0 active listings")


def test_unknown_path_is_404_in_the_documented_shape(proxy: Server) -> None:
    assert_error(httpx.get(proxy.url + "/v1/nothing-here"), 404, "not_found", "/v1/nothing-here")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "status", "type_", "words"),
    [
        ("test/broken", 502, "upstream_error", ["HTTP 500"]),
        ("test/throttled", 502, "upstream_error", ["HTTP 429"]),
        ("test/rejecting", 400, "bad_request", ["rejected the request"]),
        ("test/unreachable", 502, "upstream_error", ["Could not connect"]),
        ("test/hang-headers", 502, "upstream_error", ["1.5s"]),
    ],
)
def test_upstream_failures_before_the_first_byte(
    proxy: Server, market: Market, model: str, status: int, type_: str, words: list[str], stream: bool
) -> None:
    assert_error(post(proxy, market.keys["main"], chat_body(model, stream=stream)), status, type_, *words)


def test_sdk_raises_on_upstream_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="test/broken", messages=MSG)  # type: ignore[arg-type]
    assert info.value.status_code == 502


def test_upstream_closing_mid_stream_ends_with_an_error_event(client: openai.OpenAI, proxy: Server,
                                                              market: Market) -> None:
    stream = client.chat.completions.create(model="test/closing", messages=MSG, stream=True)  # type: ignore[arg-type]
    got: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "tok0 tok1"
    assert "fake" in info.value.message
    raw = httpx.post(proxy.url + "/v1/chat/completions", json=chat_body("test/closing", stream=True),
                     headers={"Authorization": f"Bearer {market.keys['main']}"}, timeout=20).text
    assert raw.rstrip().endswith("}") and "[DONE]" not in raw
    last_event = [line for line in raw.splitlines() if line.startswith("data: ")][-1]
    assert '"type":"upstream_error"' in last_event.replace(" ", "")


def test_upstream_stalling_mid_stream_hits_the_idle_timeout(proxy: Server, market: Market) -> None:
    raw = httpx.post(proxy.url + "/v1/chat/completions", json=chat_body("test/hang-body", stream=True),
                     headers={"Authorization": f"Bearer {market.keys['main']}"}, timeout=20).text
    events = [line for line in raw.splitlines() if line.startswith("data: ")]
    assert '"content":"tok0"' in events[-2]
    assert "stalled" in events[-1] and "[DONE]" not in raw
