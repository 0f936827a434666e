"""Client addresses cannot be chosen by the client: the proxy strips forwarding headers and sends
the one address it computed; per-IP limits and IP deny lists hold against spoofed headers."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator

import pytest

from tests.security.conftest import Stack, chat, error_of, start_stack, until
from tests.support import redisdb


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Stack]:
    """A stack of its own whose control plane allows 5 logins per client IP per minute."""
    prefix = redisdb.new_prefix()
    yield from start_stack(tmp_path_factory.mktemp("xff"), database_url, redis_url, prefix,
                           control_env={"DF_LOGIN_PER_IP_PER_MIN": "5"}, proxy_env={})


def _random_ip() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def test_login_brute_force_with_random_forwarded_for_is_limited_like_without(limited: Stack) -> None:
    email = f"victim-{secrets.token_hex(4)}@example.com"
    statuses = []
    with limited.client() as http:
        for _ in range(8):
            spoof = {"X-Forwarded-For": _random_ip(), "Forwarded": f"for={_random_ip()}", "X-Real-IP": _random_ip()}
            r = http.post("/api/auth/login", headers=spoof, json={"email": email, "password": "guess"})
            statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5, statuses
    assert statuses[5:] == [429] * 3, statuses  # as limited as the same attempts without the headers
    with limited.client() as http:
        error_of(http.post("/api/auth/login", json={"email": email, "password": "guess"}), 429, "per minute")


def test_ip_deny_list_fails_closed_on_an_unparseable_address(stack: Stack) -> None:
    """The proxy trusts loopback (DF_TRUSTED_PROXIES) so the client address comes from
    X-Forwarded-For; a value that is no address must not slip past the key's ip_blacklist."""
    stack.listing(stack.account())
    key = stack.key(stack.account(), ip_blacklist=["203.0.113.0/24"])
    with stack.client() as http:
        until(lambda: chat(http, key).status_code == 200)
        error_of(chat(http, key, headers={"X-Forwarded-For": "203.0.113.9"}), 403, "ip_blacklist")
        error_of(chat(http, key, headers={"X-Forwarded-For": "not-an-address"}), 403, "ip_blacklist")
        error_of(chat(http, key, headers={"X-Forwarded-For": "203.0.113.9%eth0"}), 403, "ip_blacklist")
