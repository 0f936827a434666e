"""Redis holds no seller upstream key in plaintext, and works with AUTH and TLS (issue 11, items 1).

Before: the snapshot's catalog section carried every listing's decrypted upstream key, and
superseded versions stayed readable for an hour. Now it carries only the key sealed for
proxies (`wire.sealing`); a proxy holding DF_SEAL_KEYS (and not the master secret) opens it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import secrets
import time
from pathlib import Path

import coredis
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ControlPlane
from tests.security.secrets_support import account, chat, listing, private_place, until
from tests.support import redisdb
from tests.support.private_redis import PrivateRedis
from tests.support.procs import granian
from wire import secret_keys


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]


async def _every_value(redis: coredis.Redis[bytes], prefix: str) -> dict[bytes, bytes]:
    """Every key under `prefix` with all its bytes, whatever its type."""
    out: dict[bytes, bytes] = {}
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        kind = await redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "string":
            value = await redis.get(key) or b""
        elif kind == "hash":
            value = b"\n".join(k + b"=" + v for k, v in (await redis.hgetall(key)).items())
        elif kind == "list":
            value = b"\n".join(await redis.lrange(key, 0, -1))
        elif kind == "set":
            value = b"\n".join(await redis.smembers(key))
        elif kind == "zset":
            value = b"\n".join(m for m in await redis.zrange(key, 0, -1))
        elif kind == "stream":
            entries = await redis.xrange(key)
            value = b"\n".join(f"{e.identifier}".encode() + b"".join(k.encode() if isinstance(k, str) else k for
                                                                        kv in e.field_values.items() for k in kv)
                               for e in entries)
        else:
            value = b""
        out[key] = value
    return out


async def test_redis_holds_no_upstream_key_after_a_publish(control_plane: ControlPlane, redis_url: str) -> None:
    upstream = "sk-canary-upstream-" + secrets.token_hex(12)
    async with httpx.AsyncClient(base_url=control_plane.url, timeout=10) as http:
        email = f"canary-{secrets.token_hex(4)}@example.com"
        made = await http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {control_plane.admin_token}"},
                               json={"email": email, "password": "pw-canary-123456", "verified": True})
        assert made.status_code == 201, made.text
        token = (await http.post("/api/auth/login", json={"email": email, "password": "pw-canary-123456"})).json()
        auth = {"Authorization": f"Bearer {token['token']}"}
        pool = await http.post("/v1/pool/keys", headers=auth, json={
            "provider": "deepseek", "base_url": "https://api.deepseek.com/v1", "api_key": upstream})
        assert pool.status_code == 201, pool.text
        item = await http.post("/v1/market/listings", headers=auth, json={
            "pool_key_id": pool.json()["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.4", "ask_output": "1"})
        assert item.status_code == 201, item.text
        listing_id = item.json()["id"]
        async with redisdb.connect(redis_url) as redis:
            deadline = time.monotonic() + 15
            while True:  # the listing is published ...
                snap = await redisdb.read_snapshot(redis, control_plane.redis_prefix)
                if snap is not None and any(x.id == listing_id for x in snap.listings):
                    break
                assert time.monotonic() < deadline, "the listing never reached the snapshot"
                await asyncio.sleep(0.05)
            # ... and republished with another ask, so a superseded catalog version is in Redis too
            await http.patch(f"/v1/market/listings/{listing_id}", headers=auth, json={"ask_output": "1.5"})
            while True:
                snap = await redisdb.read_snapshot(redis, control_plane.redis_prefix)
                if snap is not None and any(x.id == listing_id and x.ask_output == 1_500_000 for x in snap.listings):
                    break
                assert time.monotonic() < deadline, "the change never reached the snapshot"
                await asyncio.sleep(0.05)
            values = await _every_value(redis, control_plane.redis_prefix)
    assert any(b"snap:section:catalog" in k for k in values), "the scan must cover the catalog sections"
    leaks = [k.decode() for k, v in values.items() for form in _forms(upstream) if form in v]
    assert not leaks, f"the upstream key is readable in Redis under {leaks}"
    sealed = next(x for x in snap.listings if x.id == listing_id)
    assert sealed.upstream_key == "" and sealed.sealed_key


def _tls_files(where: Path) -> tuple[str, ...]:
    """A throwaway CA and a server certificate for 127.0.0.1; returns redis-server's TLS arguments."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dragonfly test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())

    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    files = {"ca.pem": ca.public_bytes(serialization.Encoding.PEM), "cert.pem": cert.public_bytes(serialization.Encoding.PEM),
             "key.pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())}
    for name, body in files.items():
        (where / name).write_bytes(body)
    return ("--tls-cert-file", str(where / "cert.pem"), "--tls-key-file", str(where / "key.pem"),
            "--tls-ca-cert-file", str(where / "ca.pem"), "--tls-auth-clients", "no")


@pytest.mark.parametrize("tls", [False, True], ids=["auth", "auth+tls"])
def test_the_stack_runs_on_a_redis_with_a_password(tmp_path: Path, pg_server_url: str, tls: bool) -> None:
    password = "redis-pw-" + secrets.token_hex(12)
    tls_args = _tls_files(tmp_path) if tls else ()
    server = PrivateRedis(tmp_path, ("--requirepass", password), tls_args)
    server.start()
    scheme, rest = server.url.split("://", 1)
    url = f"{scheme}://:{password}@{rest}" + (f"?ssl_cert_reqs=required&ssl_ca_certs={tmp_path / 'ca.pem'}"
                                              if tls else "")
    try:
        with private_place(pg_server_url, url) as place:
            admin = "admin-" + secrets.token_hex(12)
            control_env = {"DF_SECRET_KEY": secrets.token_urlsafe(32), "DF_REDIS_URL": url,
                           "DF_REDIS_PREFIX": place.prefix, "DF_DATABASE_URL": place.database_url,
                           "DF_ADMIN_TOKEN": admin, "DF_ALLOW_PRIVATE_UPSTREAMS": "1"}
            proxy_env = {**secret_keys.proxy_env(control_env), "DF_REDIS_URL": url, "DF_REDIS_PREFIX": place.prefix,
                         "DF_SNAPSHOT_POLL_S": "0.2", "DF_USAGE_SPOOL_DIR": str(tmp_path / "spool")}
            with granian("control_plane.asgi:app", log_dir=tmp_path, env=control_env) as control, \
                    granian("fake_provider.asgi:app", log_dir=tmp_path, env={"DF_FAKE_API_KEY": "sk-up-auth"}) as fake, \
                    granian("proxy.asgi:app", log_dir=tmp_path, env={**proxy_env, "DF_CONTROL_PLANE_URL": control.url}
                            ) as proxy, httpx.Client(base_url=control.url, timeout=20) as http:
                _, seller = account(http, admin)
                listing(http, seller, fake.url + "/v1", "sk-up-auth")
                _, buyer = account(http, admin, credit_cents=100)
                key = http.post("/api/keys", headers=buyer, json={"name": "auth"}).json()["key"]
                until(lambda: chat(proxy.url, key).status_code == 200)
                assert httpx.get(control.url + "/readyz").status_code == 200
                logs = control.logs() + proxy.logs()
            assert password not in logs
    finally:
        server.stop()


def test_a_client_without_the_password_is_refused(tmp_path: Path) -> None:
    """The server of the test above really demands the password (the test could fail)."""
    server = PrivateRedis(tmp_path, ("--requirepass", "pw-" + secrets.token_hex(8)))
    server.start()

    async def ping() -> None:
        async with coredis.Redis.from_url(server.url, decode_responses=False) as redis:
            await redis.ping()

    refused = False
    try:
        asyncio.run(ping())
    except* coredis.exceptions.AuthenticationRequiredError:
        refused = True
    finally:
        server.stop()
    assert refused
