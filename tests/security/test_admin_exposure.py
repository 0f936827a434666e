"""Operator surfaces: the admin API is not reachable through the public proxy (by default) and
wrong operator tokens are limited per IP; /metrics answers only trusted networks or its token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import METRICS_TOKEN, Stack, error_of
from tests.support import redisdb
from tests.support.procs import Server, granian


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    """A control plane of its own: the failed-token limit blocks this test's IP for a minute."""
    env = {"DF_DATABASE_URL": database_url, "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": redisdb.new_prefix(),
           "DF_SECRET_KEY": secrets.token_urlsafe(32), "DF_ADMIN_TOKEN": ADMIN}
    with granian("control_plane.asgi:app", log_dir=tmp_path_factory.mktemp("admin-cp"), env=env) as server:
        yield server


ADMIN = "admin-" + secrets.token_hex(16)


@pytest.mark.parametrize("path", ["/api/admin/accounts", "/api//admin/accounts", "/api/%61dmin/accounts",
                                  "/api/./admin/accounts", "/api/ADMIN/accounts", "/api/admin/payments/x/confirm"])
def test_the_proxy_does_not_forward_the_admin_api(stack: Stack, path: str) -> None:
    with stack.client() as http:
        r = http.post(path, headers={"Authorization": f"Bearer {stack.admin}"},
                      json={"email": "x@example.com", "password": "pw-12345678", "verified": True})
    assert r.status_code == 404, r.text
    assert "x@example.com" not in r.text


def test_wrong_operator_tokens_are_limited_per_ip_even_for_the_right_token_after(control: Server) -> None:
    """10 wrong tokens a minute (DF_ADMIN_FAILS_PER_IP_PER_MIN); then 429 before any comparison,
    so guessing cannot continue behind the 429s (the right token is refused too, for this IP)."""
    statuses = []
    with httpx.Client(base_url=control.url, timeout=20) as http:
        assert http.get("/api/admin/accounts/00000000-0000-0000-0000-000000000000",
                        headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 404  # the right token works
        for i in range(12):
            statuses.append(http.get("/api/admin/accounts/00000000-0000-0000-0000-000000000000",
                                     headers={"Authorization": f"Bearer wrong-{i}"}).status_code)
        right = http.get("/api/admin/accounts/00000000-0000-0000-0000-000000000000",
                         headers={"Authorization": f"Bearer {ADMIN}"})
    assert statuses == [401] * 10 + [429] * 2, statuses
    error_of(right, 429, "admin")
    assert right.headers["retry-after"]


def test_metrics_answers_only_trusted_networks_or_the_metrics_token(stack: Stack) -> None:
    """The stack's proxy and control plane trust only 192.0.2.0/24 for /metrics
    (DF_METRICS_NETWORKS), so this loopback client needs the token."""
    for server, metric in ((stack.proxy, "gateway_snapshot_info"), (stack.control, "# HELP")):
        error_of(httpx.get(server.url + "/metrics"), 403, "DF_METRICS_TOKEN")
        error_of(httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer nope"}), 403)
        ok = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200 and metric in ok.text
    ready = httpx.get(stack.proxy.url + "/readyz")
    assert ready.status_code == 200
    assert stack.admin not in ready.text and METRICS_TOKEN not in ready.text and stack.env["DF_SECRET_KEY"] not in ready.text
