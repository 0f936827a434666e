"""Per-IP limits on signup and login: a second control plane with low limits on the session's database."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import ControlPlane
from tests.support.procs import granian


def test_login_and_signup_are_limited_per_ip(control_plane: ControlPlane, redis_url: str, tmp_path: Path) -> None:
    env = {"DF_DATABASE_URL": control_plane.database_url, "DF_REDIS_URL": redis_url,
           "DF_REDIS_PREFIX": control_plane.redis_prefix + secrets.token_hex(3) + ":",
           "DF_SECRET_KEY": control_plane.secret_key, "DF_ADMIN_TOKEN": control_plane.admin_token,
           "DF_LOGIN_PER_IP_PER_MIN": "3", "DF_SIGNUP_PER_IP_PER_MIN": "2"}
    with granian("control_plane.asgi:app", log_dir=tmp_path, env=env) as cp:
        login = [httpx.post(cp.url + "/api/auth/login", json={"email": "nobody@example.com", "password": "wrong one!"},
                            timeout=10) for _ in range(4)]
        assert [r.status_code for r in login] == [401, 401, 401, 429]
        body = login[3].json()["error"]
        assert body["type"] == "rate_limit_exceeded" and "login" in body["message"]
        assert 1 <= int(login[3].headers["retry-after"]) <= 60 and int(login[3].headers["retry-after-ms"]) >= 1
        signup = [httpx.post(cp.url + "/api/auth/signup", timeout=10,
                             json={"email": f"ip-{secrets.token_hex(4)}@example.com", "password": "correct horse battery"})
                  for _ in range(3)]
        assert [r.status_code for r in signup] == [201, 201, 429]
        other_ip = httpx.post(cp.url + "/api/auth/login", headers={"x-forwarded-for": "203.0.113.9"}, timeout=10,
                              json={"email": "nobody@example.com", "password": "wrong one!"})
        assert other_ip.status_code == 401  # behind a trusted (loopback) proxy, each client IP has its own count


@pytest.fixture(autouse=True)
def _quiet() -> None:
    return None
