"""SSRF: sellers cannot point the proxy at inner addresses. The control plane refuses inward
base URLs at registration (every name form and port); the proxy checks every resolved address
when it connects and connects only to the address it checked."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator

import httpx
import pytest

from proxy.egress import Egress
from proxy.errors import UpstreamError
from tests.conftest import ControlPlane
from tests.security.conftest import Stack, chat, error_of, until
from tests.support.procs import Server, granian
from wire.addresses import is_public

INWARD = [
    "https://localhost./v1",
    "https://LOCALHOST/v1",
    "https://127.0.0.1./v1",
    "https://127.1/v1",
    "https://0x7f000001/v1",
    "https://metadata.google.internal./v1",
    "https://169.254.169.254/latest",
    "https://[::ffff:169.254.169.254]/v1",
    "https://[64:ff9b::a9fe:a9fe]/v1",  # NAT64 of 169.254.169.254
    "https://[64:ff9b::7f00:1]/v1",  # NAT64 of 127.0.0.1
    "https://[2002:a00:1::]/v1",  # 6to4 of 10.0.0.1
    "https://[fe80::1]/v1",
    "https://[::]/v1",
    "https://0.0.0.0/v1",
    "https://100.64.0.1/v1",  # CGNAT
    "https://224.0.0.1/v1",
    "https://vm/v1",  # a single-label name (resolves to loopback here)
]


@pytest.fixture(scope="module")
def seller(control_plane: ControlPlane) -> Iterator[httpx.Client]:
    """A verified seller on the suite's control plane (DF_ALLOW_PRIVATE_UPSTREAMS=0)."""
    email, password = f"ssrf-{secrets.token_hex(4)}@example.com", "pw-" + secrets.token_hex(8)
    with httpx.Client(base_url=control_plane.url, timeout=20) as http:
        made = http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {control_plane.admin_token}"},
                         json={"email": email, "password": password, "verified": True})
        assert made.status_code == 201, made.text
        token = http.post("/api/auth/login", json={"email": email, "password": password}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _pool_key(http: httpx.Client, base_url: str) -> httpx.Response:
    return http.post("/v1/pool/keys", json={"provider": "fake", "base_url": base_url, "api_key": "sk-upstream-x1",
                                            "api_format": "openai", "name": "ssrf"})


@pytest.mark.parametrize("base_url", INWARD)
def test_registration_refuses_inward_name_forms(seller: httpx.Client, base_url: str) -> None:
    error_of(_pool_key(seller, base_url), 400, "base_url", "DF_ALLOW_PRIVATE_UPSTREAMS")


@pytest.mark.parametrize("base_url", ["https://api.example.com:22/v1", "https://api.example.com:6379/v1",
                                      "https://8.8.8.8:5432/v1"])
def test_registration_refuses_ports_outside_the_allow_list(seller: httpx.Client, base_url: str) -> None:
    error_of(_pool_key(seller, base_url), 400, "base_url", "port", "DF_UPSTREAM_PORTS")


def test_registration_accepts_public_upstreams_on_allowed_ports(seller: httpx.Client) -> None:
    for url in ("https://8.8.8.8/v1", "https://8.8.4.4:8443/v1", "https://[2606:4700:4700::1111]/v1"):
        made = _pool_key(seller, url)
        assert made.status_code == 201, made.text
        seller.delete(f"/v1/pool/keys/{made.json()['id']}")


def test_every_address_form_is_judged_by_what_it_reaches() -> None:
    inner = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
             "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
             "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::",
             "2002:a9fe:a9fe::", "2001::1", "192.0.2.1"]
    public = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"]
    assert [a for a in inner if is_public(ipaddress.ip_address(a))] == []
    assert [a for a in public if not is_public(ipaddress.ip_address(a))] == []


@pytest.fixture(scope="module")
def default_proxy(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second proxy on the same snapshot with the production default: no private upstreams."""
    env = {**stack.env, "DF_UPSTREAM_ALLOW_NETWORKS": ""}  # ports: any, so the address rule is what refuses
    with granian("proxy.asgi:app", log_dir=tmp_path_factory.mktemp("ssrf-proxy"), env=env) as server:
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001"])
def test_proxy_refuses_a_loopback_upstream_at_connect_time(stack: Stack, default_proxy: Server, host: str) -> None:
    """A listing registered while private upstreams were allowed (or whose name re-resolved inward
    since) is refused by a proxy that does not allow them: 502, and the upstream sees nothing."""
    model = "qwen/qwen3-30b-a3b"
    base = stack.fake.url.replace("127.0.0.1", host) + "/v1"
    stack.listing(stack.account(), base_url=base, model=model)
    key = stack.key(stack.account())
    with stack.client() as allowed, stack.client(default_proxy.url) as refusing:
        until(lambda: chat(allowed, key, model).status_code == 200)  # the operator's allow-list: 127.0.0.1/32
        before = httpx.get(stack.fake.url + "/_stats").json()["requests"]
        until(lambda: chat(refusing, key, model).status_code != 401)
        error_of(chat(refusing, key, model), 502, "not allowed")
        assert httpx.get(stack.fake.url + "/_stats").json()["requests"] == before
    assert "is not a public address" in default_proxy.logs() or "which is not a public address" in default_proxy.logs()


async def test_the_connect_time_check_covers_ports_names_and_pins_the_checked_address() -> None:
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    strict = Egress((), (443, 8443), 60, 2)
    with pytest.raises(UpstreamError, match="not allowed"):
        await strict.pin("https://localhost/v1/chat/completions", "p")  # a name resolving to loopback
    with pytest.raises(UpstreamError, match="not allowed"):
        await strict.pin("https://[64:ff9b::7f00:1]/v1", "p")
    with pytest.raises(UpstreamError, match="not allowed"):
        await strict.pin("https://8.8.8.8:22/v1", "p")  # a public address on a port outside the list
    assert await strict.pin("https://8.8.8.8/v1", "p") is None  # a public literal: connect as written
    allowing = Egress(loopback, (), 60, 2)
    pin = await allowing.pin("http://localhost:8090/v1", "p")
    assert pin is not None and (pin.host, pin.port) == ("localhost", 8090) and pin.ip in ("127.0.0.1", "::1")
