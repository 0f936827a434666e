"""A small full-stack flow, then a scan of everything it left behind: the processes' logs, every
Redis key and value under the stack's prefix, and every response seen. No upstream key, buyer
key (after its creation response), login token (after its login response) or password appears."""

from __future__ import annotations

import base64
import secrets

import coredis
import httpx
import pytest

from tests.security.conftest import UPSTREAM_KEY, Stack, chat, until
from tests.support import redisdb


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]


def _found(blob: bytes, secrets_: dict[str, str]) -> list[str]:
    return [name for name, value in secrets_.items() if any(form in blob for form in _forms(value))]


async def _redis_blobs(redis: coredis.Redis[bytes], prefix: str) -> list[tuple[str, bytes]]:
    """Every key under the prefix with all it holds (key name, fields, values, stream entries)."""
    out: list[tuple[str, bytes]] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        name = key.decode(errors="replace")
        raw_kind = await redis.type(key)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else str(raw_kind)
        parts: list[bytes] = [key]
        if kind == "string":
            parts.append(await redis.get(key) or b"")
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():
                parts += [field, value]
        elif kind == "stream":
            for entry in await redis.xrange(key):
                for field, value in entry.field_values.items():
                    parts += [field, value]
        elif kind == "set":
            parts += list(await redis.smembers(key))
        elif kind == "zset":
            parts += list(await redis.zrange(key, 0, -1))
        elif kind == "list":
            parts += list(await redis.lrange(key, 0, -1))
        out.append((name, b"\n".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)))
    return out


@pytest.fixture(scope="module")
def flow(stack: Stack) -> dict[str, str]:
    """Signup, login, a buyer key, a seller's pool key with a distinctive upstream key, a few requests."""
    canary_password = "canary-pw-" + secrets.token_hex(8)
    seen_before = len(stack.seen)
    with stack.client() as http:
        signup = http.post("/api/auth/signup", json={"email": f"canary-{secrets.token_hex(4)}@example.com",
                                                     "password": canary_password})
        assert signup.status_code == 201, signup.text
        seller, buyer = stack.account(), stack.account()
        stack.listing(seller, model="zhipu/glm-5-0131")
        created = http.post("/api/keys", headers={"Authorization": buyer["Authorization"]}, json={"name": "scan"})
        assert created.status_code == 201
        key = created.json()["key"]
        created_at = len(stack.seen)
        until(lambda: chat(http, key, "zhipu/glm-5-0131").status_code == 200)
        streamed = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "zhipu/glm-5-0131", "messages": [{"role": "user", "content": "hi"}], "stream": True})
        assert streamed.status_code == 200
        chat(http, key, "no/such-model")
        chat(http, key[:-3])
        http.post("/api/auth/login", json={"email": "nobody@example.com", "password": canary_password})
        http.get("/api/keys", headers={"Authorization": f"Bearer {key}"})
        http.get("/v1/market/listings", headers={"Authorization": seller["Authorization"]})
        http.get("/v1/pool/keys", headers={"Authorization": seller["Authorization"]})
        http.get("/api/keys", headers={"Authorization": buyer["Authorization"]})
        http.post("/v1/pool/keys", headers={"Authorization": seller["Authorization"]}, json={
            "provider": "nope", "base_url": stack.fake.url + "/v1", "api_key": UPSTREAM_KEY})
    return {"canary_password": canary_password, "seller_password": seller["x-password"],
            "buyer_password": buyer["x-password"], "buyer_key": key,
            "seller_jwt": seller["Authorization"].split()[1], "buyer_jwt": buyer["Authorization"].split()[1],
            "seen_before": str(seen_before), "created_at": str(created_at)}


def _secrets(flow: dict[str, str], *names: str) -> dict[str, str]:
    return {n: flow[n] for n in names}


ALL = ("canary_password", "seller_password", "buyer_password", "buyer_key", "seller_jwt", "buyer_jwt")


def test_no_secret_in_the_processes_logs(stack: Stack, flow: dict[str, str]) -> None:
    wanted = {**_secrets(flow, *ALL), "upstream_key": UPSTREAM_KEY}
    for server in (stack.proxy, stack.control):
        assert _found(server.log.read_bytes(), wanted) == [], server.log.name
    assert "POST /api/keys" in stack.control.logs()  # the log does record requests


def test_no_secret_in_any_response_after_it_was_issued(stack: Stack, flow: dict[str, str]) -> None:
    later = stack.seen[int(flow["created_at"]):]
    assert len(later) > 10
    wanted = {**_secrets(flow, *ALL), "upstream_key": UPSTREAM_KEY}
    for response in later:
        blob = response.content + b"\n".join(k.encode() + b": " + v.encode() for k, v in response.headers.items())
        assert _found(blob, wanted) == [], (response.request.url, response.status_code)
    before = stack.seen[int(flow["seen_before"]):int(flow["created_at"])]
    for response in before:  # up to the key's creation: passwords and the upstream key never come back
        blob = response.content + b"\n".join(k.encode() + b": " + v.encode() for k, v in response.headers.items())
        assert _found(blob, {**_secrets(flow, "canary_password", "seller_password", "buyer_password"),
                             "upstream_key": UPSTREAM_KEY}) == [], response.request.url


async def _scan_redis(stack: Stack, wanted: dict[str, str]) -> list[tuple[str, list[str]]]:
    hits: list[tuple[str, list[str]]] = []
    async with redisdb.connect(stack.redis_url) as redis:
        for name, blob in await _redis_blobs(redis, stack.prefix):
            if found := _found(blob, wanted):
                hits.append((name, found))
    return hits


async def test_no_password_buyer_key_or_login_token_in_redis(stack: Stack, flow: dict[str, str]) -> None:
    assert await _scan_redis(stack, _secrets(flow, *ALL)) == []


async def test_no_upstream_key_in_redis(stack: Stack, flow: dict[str, str]) -> None:
    """Snapshots carry upstream keys sealed (issue 11 items 1-3); the proxy opens them."""
    assert await _scan_redis(stack, {"upstream_key": UPSTREAM_KEY}) == []


def test_the_scan_would_see_a_secret(stack: Stack, flow: dict[str, str]) -> None:
    """The scan is not blind: the buyer key's creation response and the fake seller's request log
    do hold the secrets it looks for."""
    created = stack.seen[int(flow["created_at"]) - 1]
    assert _found(created.content, _secrets(flow, "buyer_key")) == ["buyer_key"]
    upstream_seen = httpx.get(stack.fake.url + "/_requests", params={"last": 1}).json()["requests"][-1]
    assert _found(str(upstream_seen).encode(), {"upstream_key": UPSTREAM_KEY}) == ["upstream_key"]
