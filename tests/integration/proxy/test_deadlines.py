"""Deadlines and slow answers: whose failure is it (README "Deadlines").

A buyer's own deadline (routing profile `deadline_ms`) cutting a slow seller off is the buyer's
cancellation — a 504 naming the deadline, nothing held against the listing — so one buyer cannot
get a healthy rival listing ejected for everyone. A JSON answer is bounded by the idle timeout
between its reads, not by one timer over the whole answer, and by a size limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.proxy.conftest import PROXY_ENV, chat_body
from tests.support.procs import Server, granian
from tests.support.sellers import SellerMarket

# first byte 1.5 s, idle 1.5 s, all attempts until the first byte 2 s; a trickling answer takes ~2.8 s in
# all with 0.4 s of silence at a time
ENV = {**PROXY_ENV, "DF_EJECT_CONSECUTIVE": "2", "DF_EJECT_BASE_S": "60", "DF_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "1.5",
       "DF_UPSTREAM_IDLE_TIMEOUT_S": "1.5", "DF_ROUTE_DEADLINE_S": "2", "DF_UPSTREAM_MAX_JSON_BYTES": "8192"}


@pytest.fixture(scope="module")
def sellers(tmp_path_factory: pytest.TempPathFactory, fake: Server) -> SellerMarket:
    return SellerMarket(tmp_path_factory.mktemp("dsellers") / "snapshot.json", fake.url)


@pytest.fixture(scope="module")
def dproxy(tmp_path_factory: pytest.TempPathFactory, sellers: SellerMarket) -> Iterator[Server]:
    env = {**ENV, "DF_SNAPSHOT_FILE": str(sellers.path)}
    with granian("proxy.asgi:app", log_dir=tmp_path_factory.mktemp("dproxy"), env=env, ready_path="/readyz") as s:
        yield s


@pytest.fixture(scope="module", params=["first byte = idle", "first byte > idle"])
def jproxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sellers: SellerMarket,
           dproxy: Server) -> Iterator[Server]:
    """Both ways a JSON body's idle timeout is kept (the client's read timeout, or a Python timer when
    the first-byte timeout is the longer one and the read timeout would cut the wait for headers)."""
    if request.param == "first byte = idle":
        yield dproxy
        return
    env = {**ENV, "DF_SNAPSHOT_FILE": str(sellers.path), "DF_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "2.5"}
    with granian("proxy.asgi:app", log_dir=tmp_path_factory.mktemp("jproxy"), env=env, ready_path="/readyz") as s:
        yield s


def ask(proxy: Server, sellers: SellerMarket, model: str, key: str = "main", stream: bool = False,
        **headers: str) -> httpx.Response:
    h = {"Authorization": f"Bearer {sellers.keys[key]}", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.post(proxy.url + "/v1/chat/completions", json=chat_body(model, stream=stream), headers=h, timeout=20)


def listing_figures(proxy: Server, listing: str) -> dict[str, float]:
    """This listing's live figures from /metrics (gateway_listing_* by name; absent: never tried)."""
    out: dict[str, float] = {}
    for line in httpx.get(proxy.url + "/metrics").text.splitlines():
        if line.startswith("gateway_listing_") and f'listing="{listing}"' in line:
            out[line.split("{", 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


def test_a_buyers_short_deadline_does_not_eject_a_slow_healthy_listing(dproxy: Server,
                                                                       sellers: SellerMarket) -> None:
    for stream in (False, True) * 3:  # 6 cuts; 2 failures in a row would eject a listing
        r = ask(dproxy, sellers, "mkt/deadline", key="deadline", stream=stream, X_Provider_Only="tardyco")
        assert r.status_code == 504, r.text
        error = r.json()["error"]
        assert error["type"] == "upstream_error" and error["code"] == 504
        assert "deadline_ms of 100 ms" in error["message"] and "Nothing was billed" in error["message"]
    for stream in (False, True):  # another buyer, no deadline: still routed to the slow listing, served
        r = ask(dproxy, sellers, "mkt/deadline", stream=stream, X_Provider_Only="tardyco")
        assert r.status_code == 200, r.text
        assert r.headers["x-df-market-listing-id"] == "d-slow"
    figures = listing_figures(dproxy, "d-slow")
    assert figures["gateway_listing_failures_total"] == 0, figures
    assert figures["gateway_listing_error_rate"] == 0, figures
    assert figures["gateway_listing_ejected"] == 0 and figures["gateway_listing_ejections_total"] == 0, figures


def test_a_slow_json_answer_that_keeps_sending_is_relayed(jproxy: Server, sellers: SellerMarket) -> None:
    r = ask(jproxy, sellers, "mkt/trickle")  # 8 pieces 0.4 s apart: longer than first byte and route deadline
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].startswith("tok0 tok1")
    assert r.json()["usage"]["completion_tokens"] == 8
    assert listing_figures(jproxy, "t-trickle")["gateway_listing_failures_total"] == 0


def test_a_json_answer_that_stalls_is_the_sellers_failure(jproxy: Server, sellers: SellerMarket) -> None:
    before = listing_figures(jproxy, "t-stall").get("gateway_listing_failures_total", 0)
    r = ask(jproxy, sellers, "mkt/stall")  # half the body, then 5 s of silence
    assert r.status_code == 502, r.text
    assert "stalled: nothing for 1.5s" in r.json()["error"]["message"]
    assert listing_figures(jproxy, "t-stall")["gateway_listing_failures_total"] == before + 1


@pytest.mark.parametrize("model", ["mkt/huge", "mkt/huge-chunked"])  # with and without Content-Length
def test_a_json_answer_over_the_size_limit_is_a_502(jproxy: Server, sellers: SellerMarket, model: str) -> None:
    r = ask(jproxy, sellers, model)  # ~28 KB of answer, limit 8 KiB
    assert r.status_code == 502, r.text[:200]
    message = r.json()["error"]["message"]
    assert "8,192-byte limit (DF_UPSTREAM_MAX_JSON_BYTES)" in message
