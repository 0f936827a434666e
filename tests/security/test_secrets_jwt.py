"""A proxy cannot sign logins (issue 11, item 2).

Before: every proxy held DF_SECRET_KEY, from which the JWT signing key is derived, so a
compromised proxy could mint a login token for any account. Now a proxy is given only
DF_KEY_HASH_SECRET and DF_SEAL_KEYS (`make up` does exactly this), one-way derivations from
which no JWT key follows. The test tries every value the proxy holds, raw and derived.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import httpx
import jwt

from dragonfly.up import proxy_process_env
from proxy.settings import load_settings
from tests.conftest import ControlPlane
from wire.secret_keys import request_id_secret


def _token(key: bytes, account_id: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": account_id, "iat": now, "exp": now + 600, "aud": "dragonfly-control-plane"}, key,
                      algorithm="HS256")


def _jwt_key(secret: str) -> bytes:
    """How the control plane derives its signing key from a secret (control_plane.auth.tokens)."""
    return hmac.new(secret.encode(), b"dragonfly/jwt/v1", hashlib.sha256).digest()


def _candidates(values: list[str], keys: list[bytes]) -> list[bytes]:
    out = [*keys]
    for value in values:
        out += [value.encode(), _jwt_key(value)]
        for part in value.split(","):
            try:
                raw = bytes.fromhex(part)
            except ValueError:
                continue
            out += [raw, _jwt_key(part)]
    for key in keys:
        out.append(_jwt_key(key.hex()))
    return [k for k in out if len(k) >= 32]  # the control plane's key is 32 bytes; shorter ones cannot match


def test_nothing_a_proxy_holds_signs_a_login(control_plane: ControlPlane) -> None:
    with httpx.Client(base_url=control_plane.url, timeout=10) as http:
        email = f"victim-{secrets.token_hex(4)}@example.com"
        made = http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {control_plane.admin_token}"},
                         json={"email": email, "password": "pw-victim-123456", "verified": True})
        assert made.status_code == 201, made.text
        victim = made.json()["id"]
        # the forging method works with the control plane's own key: the test can fail
        genuine = _token(_jwt_key(control_plane.secret_key), victim)
        real = http.get("/api/account", headers={"Authorization": f"Bearer {genuine}"})
        assert real.status_code == 200, real.text

        control_env = {"DF_SECRET_KEY": control_plane.secret_key, "DF_ADMIN_TOKEN": control_plane.admin_token,
                       "DF_DATABASE_URL": control_plane.database_url, "DF_REDIS_URL": "redis://127.0.0.1:6379/0",
                       "DF_REDIS_PREFIX": control_plane.redis_prefix}
        held = proxy_process_env(control_env)
        settings = load_settings(held)
        assert control_plane.secret_key not in "".join(held.values())
        keys = [settings.key_hash_secret, *settings.seal_keys, request_id_secret(settings.key_hash_secret)]
        forged = []
        for key in _candidates(list(held.values()), keys):
            r = http.get("/api/account", headers={"Authorization": f"Bearer {_token(key, victim)}"})
            if r.status_code != 401:
                forged.append((key[:4].hex(), r.status_code))
        assert not forged, f"a key the proxy holds signed a login: {forged}"
