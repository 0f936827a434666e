"""Market routing end to end: several fake sellers, every header and profile, fallback,
ejection, hedging, stickiness across two workers, 503 reasons and the Trading Terms 403."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.integration.proxy.conftest import PROXY_ENV, chat_body
from tests.support.procs import Server, granian
from tests.support.sellers import SellerMarket

ENV = {**PROXY_ENV, "DF_EJECT_CONSECUTIVE": "2", "DF_EJECT_BASE_S": "60"}
DIAGNOSTICS = ("x-df-market-route", "x-df-market-provider", "x-df-market-listing-id", "x-df-market-request-id",
               "x-df-upstream-model", "x-df-market-ask-input", "x-df-market-ask-output", "x-df-market-fee-profile-id")


@pytest.fixture(scope="module")
def sellers(tmp_path_factory: pytest.TempPathFactory, fake: Server) -> SellerMarket:
    return SellerMarket(tmp_path_factory.mktemp("sellers") / "snapshot.json", fake.url)


@pytest.fixture(scope="module")
def mproxy(tmp_path_factory: pytest.TempPathFactory, sellers: SellerMarket) -> Iterator[Server]:
    env = {**ENV, "DF_SNAPSHOT_FILE": str(sellers.path)}
    with granian("proxy.asgi:app", log_dir=tmp_path_factory.mktemp("mproxy"), env=env, ready_path="/readyz") as s:
        yield s


@pytest.fixture(scope="module")
def mproxy2(tmp_path_factory: pytest.TempPathFactory, sellers: SellerMarket) -> Iterator[Server]:
    env = {**ENV, "DF_SNAPSHOT_FILE": str(sellers.path)}
    with granian("proxy.asgi:app", log_dir=tmp_path_factory.mktemp("mproxy2"), env=env, ready_path="/readyz",
                 workers=2) as s:
        yield s


def ask(proxy: Server, sellers: SellerMarket, model: str = "mkt/chat", key: str = "main", stream: bool = False,
        **headers: str) -> httpx.Response:
    h = {"Authorization": f"Bearer {sellers.keys[key]}", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.post(proxy.url + "/v1/chat/completions", json=chat_body(model, stream=stream), headers=h, timeout=20)


def listing(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return r.headers["x-df-market-listing-id"]


def test_every_diagnostics_header_on_a_market_response(mproxy: Server, sellers: SellerMarket) -> None:
    r = ask(mproxy, sellers)
    assert r.status_code == 200 and all(h in r.headers for h in DIAGNOSTICS), r.headers
    assert r.headers["x-df-market-route"] == "seller" and r.headers["x-df-market-fee-profile-id"] == "fee-std"
    assert r.headers["x-df-market-request-id"] == r.headers["x-request-id"]


@pytest.mark.parametrize(("headers", "expected"), [
    ({"X-Provider-Only": "fastco"}, "s-fast"),
    ({"X-Provider-Ignore": "cheapco,midco"}, "s-fast"),
    ({"X-Privacy-Mode": "trusted_only"}, "s-fast"),
    ({"X-Max-Price": "0.15"}, "s-cheap"),
    ({"X-Provider-Order": "midco"}, "s-mid"),
    ({"X-Provider-Only": "cheapco", "X-Max-TTFT-Ms": "10"}, "s-cheap"),  # soft: ranking only
])
def test_routing_headers_choose_the_listing(mproxy: Server, sellers: SellerMarket, headers: dict[str, str],
                                            expected: str) -> None:
    for stream in (False, True):
        assert listing(ask(mproxy, sellers, stream=stream, **headers)) == expected


def test_hard_ttft_limit_excludes_a_measured_slow_seller(mproxy: Server, sellers: SellerMarket) -> None:
    listing(ask(mproxy, sellers, X_Provider_Only="cheapco"))  # 300 ms TTFT, now measured
    r = ask(mproxy, sellers, X_Provider_Only="cheapco", X_Hard_Max_TTFT_Ms="100")
    assert r.status_code == 503 and r.json()["error"]["type"] == "market_unavailable"
    assert "slower than the hard TTFT limit 100 ms" in r.json()["error"]["message"]


def test_503_names_how_many_listings_and_why(mproxy: Server, sellers: SellerMarket) -> None:
    r = ask(mproxy, sellers, X_Max_Price="0.01")
    msg = r.json()["error"]["message"]
    assert r.status_code == 503 and "3 listings for mkt/chat; 3 above the max input price 0.01" in msg


@pytest.mark.parametrize(("name", "value"), [("X-Max-Price", "cheap"), ("X-Hard-Min-Throughput-TPS", "-1"),
                                             ("Routing-Strategy", "direct"), ("X-Provider-Only", "a b")])
def test_malformed_routing_headers_are_400s_naming_the_header(mproxy: Server, sellers: SellerMarket, name: str,
                                                              value: str) -> None:
    r = ask(mproxy, sellers, **{name: value})
    assert r.status_code == 400 and name.lower() in r.json()["error"]["message"].lower()


def test_profiles_apply_and_headers_cannot_loosen_them(mproxy: Server, sellers: SellerMarket) -> None:
    assert listing(ask(mproxy, sellers, key="fast_only")) == "s-fast"
    assert ask(mproxy, sellers, key="fast_only", X_Provider_Only="cheapco").status_code == 503
    assert listing(ask(mproxy, sellers, key="cap", X_Max_Price="5.00")) == "s-cheap"
    assert listing(ask(mproxy, sellers, key="cost")) == "s-cheap"


def test_fallback_before_the_first_byte_with_the_openai_sdk(mproxy: Server, sellers: SellerMarket) -> None:
    with openai.OpenAI(base_url=mproxy.url + "/v1", api_key=sellers.keys["main"], max_retries=0) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(
            model="mkt/flaky", messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-df-market-listing-id"] == "f-good"
        assert int(raw.headers["x-df-market-attempts"]) >= 2
        assert raw.parse().choices[0].message.content
        text = "".join(c.choices[0].delta.content or "" for c in sdk.chat.completions.create(
            model="mkt/flaky", messages=[{"role": "user", "content": "hi"}], stream=True) if c.choices)
        assert text.startswith("tok0")


def test_no_fallback_when_the_profile_disables_it(mproxy: Server, sellers: SellerMarket) -> None:
    r = ask(mproxy, sellers, model="mkt/flaky", key="nofallback", X_Provider_Ignore="goodco,downco")
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"


def test_ejection_shows_in_the_503_reason_and_in_metrics(mproxy: Server, sellers: SellerMarket) -> None:
    for _ in range(2):  # e-bad is the cheapest: tried first, fails, the dear ones answer
        assert listing(ask(mproxy, sellers, model="mkt/eject")) in ("e-dear1", "e-dear2")
    assert listing(ask(mproxy, sellers, model="mkt/eject")) == "e-dear1"  # e-bad ejected: not even tried
    r = ask(mproxy, sellers, model="mkt/eject", X_Max_Price="0.30")
    msg = r.json()["error"]["message"]
    assert r.status_code == 503
    assert "3 listings for mkt/eject; 2 above the max input price 0.30" in msg
    assert "1 ejected after upstream errors" in msg
    metrics = httpx.get(mproxy.url + "/metrics").text
    assert any(line.startswith("gateway_listing_ejected{") and 'listing="e-bad"' in line and line.endswith(" 1")
               for line in metrics.splitlines())


def test_hedging_takes_the_second_seller_when_the_first_is_slow(mproxy: Server, sellers: SellerMarket) -> None:
    started = time.monotonic()
    r = ask(mproxy, sellers, model="mkt/hedge", key="hedge", stream=True)
    assert listing(r) == "h-fast" and r.headers["x-df-market-attempts"] == "2"
    assert time.monotonic() - started < 1.0  # the slow seller needs 1.2 s to its first byte
    assert "[DONE]" in r.text
    assert listing(ask(mproxy, sellers, model="mkt/hedge", key="cost", stream=True)) == "h-slow"  # no hedge rule


def test_market_only_requires_accepted_trading_terms(mproxy: Server, sellers: SellerMarket) -> None:
    r = ask(mproxy, sellers, key="no_terms")
    assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
    assert "POST /api/account/trading-terms" in r.json()["error"]["message"]


def test_session_stickiness_across_two_workers(mproxy2: Server, sellers: SellerMarket) -> None:
    chosen = {s: {listing(ask(mproxy2, sellers, model="mkt/sticky", X_Session_Id=s)) for _ in range(8)}
              for s in ("alice-1", "bob-2", "carol-3", "dave-4", "erin-5", "frank-6")}
    assert all(len(v) == 1 for v in chosen.values()), chosen  # same listing every time, whichever worker
    assert len({next(iter(v)) for v in chosen.values()}) > 1  # sessions spread over sellers
    mine = next(iter(chosen["alice-1"]))
    moved = listing(ask(mproxy2, sellers, model="mkt/sticky", X_Session_Id="alice-1",
                        X_Provider_Ignore=mine.replace("st-", "stickco")))
    assert moved != mine  # its listing became ineligible: the session moves
    assert listing(ask(mproxy2, sellers, model="mkt/sticky", X_Session_Id="alice-1")) == mine
