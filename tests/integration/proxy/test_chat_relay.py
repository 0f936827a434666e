"""Chat completions through the proxy with the real OpenAI SDK: JSON, streams, tools."""

from __future__ import annotations

import httpx
import openai

from tests.integration.proxy.conftest import FakeStats, chat_body
from tests.support.market import SELLER_KEY, Market
from tests.support.procs import Server

MSG = [{"role": "user", "content": "Hello there, fake!"}]


def test_json_completion_is_relayed_with_usage_and_route_headers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="deepseek/deepseek-chat", messages=MSG)
    resp = raw.parse()
    assert resp.choices[0].message.content == "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"
    assert resp.usage is not None and resp.usage.completion_tokens == 8
    headers = raw.headers
    assert headers["x-request-id"] == headers["x-df-market-request-id"]
    assert headers["x-df-market-route"] == "seller"
    assert headers["x-df-market-provider"] == "fake"
    assert headers["x-df-upstream-model"] == "deepseek-chat"
    assert headers["x-df-market-ask-input"] == "0.40"  # 80% of the $0.50 catalog price
    assert headers["x-df-market-ask-output"] == "1.20"
    assert headers["x-df-market-listing-id"]


def test_seller_key_goes_upstream_and_buyer_key_never_does(
    client: openai.OpenAI, fake_stats: FakeStats, market: Market
) -> None:
    client.chat.completions.create(model="deepseek/deepseek-chat", messages=MSG, extra_body={"df_probe": "x1"})
    seen = [r for r in fake_stats.last_requests(20) if isinstance(r["body"], dict) and r["body"].get("df_probe")]
    assert seen, "the request did not reach the upstream"
    upstream = seen[-1]
    assert upstream["headers"]["authorization"] == f"Bearer {SELLER_KEY}"
    assert market.keys["main"] not in str(upstream)


def test_unknown_fields_pass_through_and_model_is_rewritten(client: openai.OpenAI, fake_stats: FakeStats) -> None:
    client.chat.completions.create(
        model="deepseek/deepseek-chat", messages=MSG, temperature=0.5,
        extra_body={"df_probe": "x2", "vendor_extension": {"nested": [1, 2.5, "three"]}, "seed": 42},
    )
    body = [r for r in fake_stats.last_requests(20) if isinstance(r["body"], dict)
            and r["body"].get("df_probe") == "x2"][-1]["body"]
    assert body["model"] == "deepseek-chat"
    assert body["vendor_extension"] == {"nested": [1, 2.5, "three"]}
    assert body["seed"] == 42 and body["temperature"] == 0.5
    assert body["messages"] == MSG


def test_stream_relays_every_chunk_and_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="deepseek/deepseek-chat", messages=MSG, stream=True, stream_options={"include_usage": True},
        extra_body={"fake": {"chunks": 5}},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok0 tok1 tok2 tok3 tok4"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_stream_chunks_arrive_before_the_upstream_finishes(
    proxy: Server, market: Market, fake_stats: FakeStats
) -> None:
    """A paced upstream: the first chunk must reach us while the upstream is still sending.

    Proven by order, not time: when the first content chunk arrives, the fake provider has
    not yet completed the stream (its counter has not moved)."""
    completed_before = fake_stats.stats()["streams_completed"]
    body = chat_body(stream=True, fake={"chunks": 6, "tps": 8})
    headers = {"Authorization": f"Bearer {market.keys['main']}"}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=headers, timeout=20) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = r.iter_lines()
        first_content = next(line for line in events if '"content":"tok0"' in line)
        completed_at_first_chunk = fake_stats.stats()["streams_completed"]
        rest = list(events)
    assert first_content.startswith("data: ")
    assert completed_at_first_chunk == completed_before, "the stream was buffered: upstream had already finished"
    assert "data: [DONE]" in rest
    assert fake_stats.stats()["streams_completed"] == completed_before + 1


def test_tool_calls_come_back_through_the_sdk(client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "description": "look up",
                                               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
    resp = client.chat.completions.create(model="deepseek/deepseek-chat", messages=MSG, tools=tools)  # type: ignore[arg-type]
    call = resp.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert resp.choices[0].finish_reason == "tool_calls"
    stream = client.chat.completions.create(model="deepseek/deepseek-chat", messages=MSG, tools=tools,  # type: ignore[arg-type]
                                            stream=True)
    fragments = [tc for c in stream if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert fragments[0].function is not None and fragments[0].function.name == "lookup"
    args = "".join(f.function.arguments or "" for f in fragments if f.function)
    assert args.startswith("{") and args.endswith("}")


def test_models_list_is_public_and_priced(proxy: Server) -> None:
    r = httpx.get(proxy.url + "/v1/models")
    assert r.status_code == 200 and r.headers["x-request-id"]
    data = r.json()
    assert data["object"] == "list"
    by_id = {m["id"]: m for m in data["data"]}
    chat = by_id["deepseek/deepseek-chat"]
    assert chat["object"] == "model" and chat["owned_by"] == "deepseek"
    assert chat["pricing"]["input"] == "0.50" and chat["pricing"]["output"] == "1.50"
    assert chat["context_length"] == 128_000 and "chat" in chat["capabilities"]
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused") as anonymous:
        models = anonymous.models.list()
    assert "minimax/minimax-m2.5-highspeed" in {m.id for m in models}


def test_health_and_readiness(proxy: Server) -> None:
    assert httpx.get(proxy.url + "/healthz").status_code == 200
    ready = httpx.get(proxy.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True and ready.json()["snapshot_version"]


def test_metrics_count_requests_and_report_the_snapshot(proxy: Server, market: Market) -> None:
    httpx.post(proxy.url + "/v1/chat/completions", json=chat_body(), headers={"Authorization": "Bearer nope"})
    text = httpx.get(proxy.url + "/metrics").text
    assert 'status="401"' in text and "gateway_requests_total{" in text
    assert "gateway_snapshot_source_up{" in text and text.count('gateway_snapshot_info{') == 1
    assert 'kind="keys"} 7' in text
