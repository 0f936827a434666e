"""Seller visibility through purchases on a real billing stack: a listing's stats endpoint and the
health on its view count what buyers' requests did (requests, failures, TTFT, tokens/s, usage
the upstream over-reported), only for the listing's own seller; provider status on
/v1/pool/providers counts routable supply and the caller's keys."""

from __future__ import annotations

import httpx

from tests.support.billing_stack import BillingStack, until

MODEL = "moonshot/kimi-k2"


def chat(stack: BillingStack, key: str, **knobs: object) -> httpx.Response:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": MODEL, "messages": [{"role": "user", "content": "x" * 400}], "stream": True,
        "stream_options": {"include_usage": True}, "fake": {"chunks": 20, **knobs}})


def test_stats_and_health_count_what_buyers_saw(stack: BillingStack) -> None:
    seller = stack.account(0)
    listing = stack.listing(seller, MODEL, "1.00", "4.00")
    path = f"/v1/market/listings/{listing}"
    fresh = stack.http.get(path + "/stats", headers=seller).json()
    assert (fresh["requests"], fresh["error_rate"], fresh["ttft_ms_p50"], fresh["ejections"]) == (0, 0.0, None, 0)
    probe = fresh["last_probe"]  # the admission probe that let the listing be routed
    assert probe["listing_id"] == listing and probe["outcome"] == "passed" and probe["checks"], probe
    assert stack.http.get(path, headers=seller).json()["health"]["status"] == "no_traffic"

    key = stack.key(stack.account(500))
    ids = []
    for knobs in ({}, {"ttft_ms": 30}, {"completion_tokens": 400}):  # the last reports far more than it streams
        r = chat(stack, key, **knobs)
        assert r.status_code == 200, r.text
        ids.append(r.headers["x-request-id"])
    failed = chat(stack, key, status=500)
    assert failed.status_code >= 500
    for request_id in ids:
        stack.settled(key, request_id)

    def counted() -> bool:
        return int(stack.http.get(path + "/stats", headers=seller).json()["requests"]) == 4
    until(counted, 15)
    stats = stack.http.get(path + "/stats", headers=seller, params={"window_s": 3600}).json()
    assert (stats["requests"], stats["errors"], stats["over_reported_usage"], stats["window_s"]) == (4, 1, 1, 3600)
    assert stats["error_rate"] == 0.25 and stats["tokens_per_s"] is not None and stats["tokens_per_s"] > 0
    assert stats["ttft_ms_p50"] is not None and stats["ttft_ms_p95"] >= stats["ttft_ms_p50"]
    health = stack.http.get(path, headers=seller).json()["health"]
    assert (health["status"], health["requests_24h"], health["over_reported_usage_24h"]) == ("degraded", 4, 1)

    other = stack.account(0)
    assert stack.http.get(path + "/stats", headers=other).status_code == 404
    assert stack.http.get(path + "/stats", headers=seller, params={"window_s": "-1"}).status_code == 400

    providers = {p["slug"]: p for p in stack.http.get("/v1/pool/providers", headers=seller).json()["data"]}
    fake = providers["fake"]
    assert fake["listings"] >= 1 and (fake["my_active_keys"], fake["my_disabled_keys"]) == (1, 0)
    assert fake["status"] in ("operational", "degraded")
    assert providers["anthropic"]["my_active_keys"] == 0
