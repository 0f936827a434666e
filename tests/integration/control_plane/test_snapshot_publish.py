"""The control plane publishes the snapshot to Redis on every change the proxy needs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from proxy.snapshot.unseal import Unsealer
from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, admin_auth
from tests.integration.control_plane.test_seller_api import UPSTREAM, listing, pool_key
from tests.support import redisdb
from wire.keys import derive_hash_secret, hash_key
from wire.publish import notify_channel
from wire.secret_keys import purpose_key
from wire.snapshot import Snapshot, check_consistent


async def wait_for(redis_url: str, prefix: str, ok: Callable[[Snapshot], bool], timeout: float = 10.0) -> Snapshot:
    """Poll the published snapshot until `ok` holds (tests assert outcomes, not timings)."""
    deadline = time.monotonic() + timeout
    async with redisdb.connect(redis_url) as redis:
        while True:
            snap = await redisdb.read_snapshot(redis, prefix)
            if snap is not None and ok(snap):
                check_consistent(snap)
                return snap
            assert time.monotonic() < deadline, f"snapshot never satisfied the condition; last: {snap}"
            await asyncio.sleep(0.02)


async def test_buyer_key_lifecycle_reaches_the_snapshot(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    prefix = control_plane.redis_prefix
    made = (await http.post("/api/keys", headers=buyer.auth, json={
        "key_group": "prod", "monthly_budget_cents": 500, "ip_whitelist": ["10.0.0.0/8"], "ip_blacklist": ["10.9.0.0/16"],
        "model_allowlist": ["deepseek/deepseek-chat"], "expires_at": "2031-01-01T00:00:00Z",
    })).json()
    digest = hash_key(derive_hash_secret(control_plane.secret_key), made["key"])

    def by_hash(snap: Snapshot) -> dict[str, object]:
        return {k.hash: k for k in snap.keys}

    snap = await wait_for(redis_url, prefix, lambda s: digest in by_hash(s))
    key = next(k for k in snap.keys if k.hash == digest)
    assert (key.id, key.account_id, key.status, key.key_group) == (made["id"], buyer.id, "active", "prod")
    assert key.expires_at == 1924992000 and key.monthly_budget_micro_usd == 5_000_000
    assert key.ip_whitelist == ("10.0.0.0/8",) and key.ip_blacklist == ("10.9.0.0/16",)
    assert key.model_allowlist == ("deepseek/deepseek-chat",)
    assert key.routing_profile_id == made["routing_profile_id"]
    assert [k.hash for k in snap.keys] == sorted(k.hash for k in snap.keys)
    assert buyer.id in {a.id for a in snap.accounts}
    assert {p.name: (p.rpm_limit, p.tpm_limit) for p in snap.plans} == {
        "free": (10, 40000), "starter": (60, 200000), "pro": (300, 1000000), "enterprise": (None, None)}

    await http.patch(f"/api/keys/{made['id']}", headers=buyer.auth, json={"status": "disabled", "ip_whitelist": []})
    await wait_for(redis_url, prefix, lambda s: any(k.hash == digest and k.status == "disabled" and not k.ip_whitelist
                                                    for k in s.keys))
    await http.delete(f"/api/keys/{made['id']}", headers=buyer.auth)
    await wait_for(redis_url, prefix, lambda s: digest not in by_hash(s))


async def test_account_status_plan_and_terms_reach_the_snapshot(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    prefix = control_plane.redis_prefix
    await http.patch(f"/api/admin/accounts/{buyer.id}", headers=admin_auth(control_plane),
                     json={"status": "suspended", "plan": "pro", "rpm_limit": 7})
    await wait_for(redis_url, prefix, lambda s: any(
        a.id == buyer.id and a.status == "suspended" and a.plan == "pro" and a.rpm_limit == 7 for a in s.accounts))
    await http.patch(f"/api/admin/accounts/{buyer.id}", headers=admin_auth(control_plane), json={"status": "active"})
    await http.post("/api/account/trading-terms", headers=buyer.auth)
    await wait_for(redis_url, prefix, lambda s: any(
        a.id == buyer.id and a.status == "active" and a.trading_terms_accepted for a in s.accounts))


async def test_listing_carries_sealed_key_and_base_url(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    prefix = control_plane.redis_prefix
    key = await pool_key(http, buyer)
    made = await listing(http, buyer, key["id"], ask_cached_input="0.10", rpm_limit=60, concurrency_limit=3)
    snap = await wait_for(redis_url, prefix, lambda s: any(x.id == made["id"] for x in s.listings))
    sealed = next(x for x in snap.listings if x.id == made["id"])
    assert sealed.upstream_key == "" and UPSTREAM.encode() not in sealed.sealed_key
    opened, dropped = Unsealer((purpose_key(control_plane.secret_key, "snapshot-seal"),)).open_catalog(snap)
    item = next(x for x in opened.listings if x.id == made["id"])
    assert (item.upstream_key, item.base_url, item.provider, item.api_format) == (
        UPSTREAM, "https://api.deepseek.com/v1", "deepseek", "openai")
    assert (item.ask_input, item.ask_output, item.ask_cached_input) == (400_000, 1_200_000, 100_000)
    assert (item.seller_account_id, item.model, item.upstream_model, item.trusted) == (
        buyer.id, "deepseek/deepseek-chat", "deepseek-chat", True)
    assert (item.rpm_limit, item.concurrency_limit) == (60, 3)
    model = next(m for m in snap.models if m.id == "deepseek/deepseek-chat")
    assert (model.input_price, model.output_price, model.context_length) == (500_000, 1_500_000, 128_000)

    await http.patch(f"/v1/market/listings/{made['id']}", headers=buyer.auth, json={"ask_output": "1.50"})  # within the price-review band
    await wait_for(redis_url, prefix, lambda s: any(x.id == made["id"] and x.ask_output == 1_500_000
                                                    for x in s.listings))
    await http.patch(f"/v1/market/listings/{made['id']}", headers=buyer.auth, json={"status": "paused"})
    await wait_for(redis_url, prefix, lambda s: all(x.id != made["id"] for x in s.listings))


async def test_a_key_change_rewrites_one_section_and_notifies(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    prefix = control_plane.redis_prefix
    await http.post("/api/keys", headers=buyer.auth, json={})
    async with redisdb.connect(redis_url) as redis:
        await asyncio.sleep(0.3)  # let earlier changes settle; only the diff below matters
        before = await redisdb.read_manifest(redis, prefix)
        assert before is not None
        async with redis.pubsub(channels=[notify_channel(prefix)]) as sub:
            started = time.perf_counter()
            made = (await http.post("/api/keys", headers=buyer.auth, json={})).json()
            message = None
            deadline = time.monotonic() + 10
            while message is None or message.get("type") != "message":
                assert time.monotonic() < deadline, "no notice on the notify channel"
                message = await sub.get_message(timeout=1)
            print(f"\nkey created -> snapshot notice: {(time.perf_counter() - started) * 1000:.0f} ms")
        after = await redisdb.read_manifest(redis, prefix)
    assert after is not None and message["data"] in (after.version, after.version.encode())
    changed = {name for name, version in after.sections.items() if before.sections.get(name) != version}
    digest = hash_key(derive_hash_secret(control_plane.secret_key), made["key"])
    assert changed == {f"keys/{digest[:2]}"}
