"""Key rotation without downtime (issue 11, item 2): several secrets, newest first.

Before there was one DF_SECRET_KEY and no rotation: a new secret logged everyone out and
every pool key stopped decrypting. Now: add the new secret first (old JWTs and pool keys
keep working, snapshots are sealed with the new key), `dragonfly keys rotate` re-encrypts
every pool key (idempotent), remove the old secret, and everything still works.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import coredis
import httpx
import msgspec

from tests.security.secrets_support import Place, account, chat, listing, login, private_place, until
from tests.support.procs import ROOT, Server, granian
from wire import sealing, secret_keys
from wire.codec import decode_snapshot
from wire.publish import CATALOG, Manifest, manifest_key, section_key

UPSTREAM = "sk-up-rotation"


@contextmanager
def stack(logs: Path, place: Place, control_env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    """Control plane and proxy; the proxy gets only what `dragonfly keys proxy-env` prints."""
    penv = {**secret_keys.proxy_env(control_env), "DF_REDIS_URL": place.redis_url, "DF_REDIS_PREFIX": place.prefix,
            "DF_SNAPSHOT_POLL_S": "0.2", "DF_USAGE_SPOOL_DIR": str(logs / "spool")}
    with granian("proxy.asgi:app", log_dir=logs, env=penv) as proxy, \
            granian("control_plane.asgi:app", log_dir=logs, env=control_env) as control:
        yield control, proxy


def rotate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "dragonfly"
    return subprocess.run([str(binary), "keys", "rotate"], cwd=ROOT, env={**env, "PATH": str(binary.parent)},
                          capture_output=True, text=True, timeout=60)


def catalog_key_id(place: Place, listing_id: str) -> bytes:
    """The id of the sealing key the published catalog seals `listing_id`'s upstream key with."""

    async def read() -> bytes:
        async with coredis.Redis.from_url(place.redis_url, decode_responses=False) as redis:
            raw = await redis.get(manifest_key(place.prefix))
            if raw is None:
                return b""
            manifest = msgspec.msgpack.decode(raw, type=Manifest)
            body = await redis.get(section_key(place.prefix, CATALOG, manifest.sections[CATALOG]))
            if body is None:
                return b""
            item = next((x for x in decode_snapshot(body).listings if x.id == listing_id), None)
            parts = sealing.split_blob(item.sealed_key) if item else None
            return parts[0] if parts else b""

    return asyncio.run(read())


def test_rotation_keeps_logins_pool_keys_and_routing(tmp_path: Path, pg_server_url: str, redis_url: str) -> None:
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with private_place(pg_server_url, redis_url) as place, \
            granian("fake_provider.asgi:app", log_dir=tmp_path, env={"DF_FAKE_API_KEY": UPSTREAM}) as fake:
        admin = "admin-" + secrets.token_hex(12)
        base = {"DF_DATABASE_URL": place.database_url, "DF_REDIS_URL": place.redis_url,
                "DF_REDIS_PREFIX": place.prefix, "DF_ADMIN_TOKEN": admin, "DF_ALLOW_PRIVATE_UPSTREAMS": "1"}
        before = {**base, "DF_SECRET_KEY": old}
        pinned = secret_keys.proxy_env(before)["DF_KEY_HASH_SECRET"]  # buyer key hashes survive the rotation
        with stack(tmp_path, place, before) as (control, proxy), httpx.Client(base_url=control.url, timeout=20) as http:
            seller_email, seller_old_jwt = account(http, admin)
            pool_id, listing_id = listing(http, seller_old_jwt, fake.url + "/v1", UPSTREAM)
            _, buyer = account(http, admin, credit_cents=100)
            key = http.post("/api/keys", headers=buyer, json={"name": "rot"}).json()["key"]
            until(lambda: chat(proxy.url, key).status_code == 200)

        # 1. the new secret first, the old one still listed: proxies get both sealing keys
        both = {**base, "DF_SECRET_KEYS": f"{new},{old}", "DF_KEY_HASH_SECRET": pinned}
        with stack(tmp_path, place, both) as (control, proxy), httpx.Client(base_url=control.url, timeout=20) as http:
            pools = http.get("/v1/pool/keys", headers=seller_old_jwt)
            assert pools.status_code == 200, pools.text  # a login signed with the old secret still works
            assert [p["status"] for p in pools.json()["data"]] == ["active"]
            new_seal = secret_keys.seal_keys({}, (new,))[0]
            until(lambda: catalog_key_id(place, listing_id) == sealing.key_id(new_seal))
            assert chat(proxy.url, key).status_code == 200
            seller_new_jwt = login(http, seller_email)

            first, again = rotate(both), rotate(both)
            assert first.returncode == 0, first.stdout + first.stderr
            assert "1 pool key(s) re-encrypted" in first.stdout, first.stdout
            assert again.returncode == 0 and "0 pool key(s) re-encrypted" in again.stdout, again.stdout
            assert "1 already current" in again.stdout

        # 2. the old secret removed everywhere
        after = {**base, "DF_SECRET_KEYS": new, "DF_KEY_HASH_SECRET": pinned}
        with stack(tmp_path, place, after) as (control, proxy), httpx.Client(base_url=control.url, timeout=20) as http:
            assert http.get("/v1/pool/keys", headers=seller_old_jwt).status_code == 401  # its secret is gone
            pools = http.get("/v1/pool/keys", headers=seller_new_jwt)
            assert pools.status_code == 200 and [p["status"] for p in pools.json()["data"]] == ["active"]
            assert pools.json()["data"][0]["id"] == pool_id
            until(lambda: http.get("/readyz").status_code == 200)
            assert chat(proxy.url, key).status_code == 200  # the buyer key and the seller's upstream key
            assert UPSTREAM not in control.logs() + proxy.logs()
