"""Verified supply through the public API (README "Admission", "Contracts", "Trust"), with the
fake provider playing an honest upstream, one that rejects the key with 401 after admission,
one that reports twice the tokens it streams, one that names another model, and a seller that
claims provider `deepseek` from its own host. The module's conftest runs the ledger check.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator

import httpx
import pytest

from proxy.probe.checks import PROBE_PROMPT
from tests.support.billing_stack import BillingStack, billing_stack, until

HONEST_MODEL = "minimax/minimax-m2.5-highspeed"
DEAD_MODEL = "minimax/minimax-m2.5"
REVOKED_MODEL = "moonshot/kimi-k2"
DOUBLE_MODEL = "qwen/qwen3-235b-a22b"
SUBSTITUTE_MODEL = "zhipu/glm-5-0131"
CLAIMED_MODEL = "deepseek/deepseek-reasoner"
SUSPEND_MODEL = "doubao/doubao-1.5-pro-256k"
WORDS = "%20".join("the cat sat on the mat and the dog ran".split())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bill_db: str, redis_url: str,
          bill_prefix: str) -> Iterator[BillingStack]:
    with billing_stack(tmp_path_factory.mktemp("admission"), bill_db, redis_url, bill_prefix,
                       proxy_env={"DF_STATS_REPORT_S": "0.2"},
                       control_extra={"DF_PROBE_RETRY_S": "1", "DF_CONTRACT_SUSPEND_AFTER": "3"}) as s:
        s.seller = s.account(0)  # type: ignore[attr-defined]
        yield s


@pytest.fixture(scope="module")
def seller(stack: BillingStack) -> dict[str, str]:
    return stack.seller  # type: ignore[attr-defined, no-any-return]


def chat(stack: BillingStack, key: str, model: str, **headers: str) -> httpx.Response:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}", **headers},
                           json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})


def runs(stack: BillingStack, seller: dict[str, str], listing: str) -> list[dict[str, object]]:
    r = stack.http.get(f"/v1/market/listings/{listing}/probe-runs", headers=seller)
    assert r.status_code == 200, r.text
    data: list[dict[str, object]] = r.json()["data"]
    return data


def failed_check(run: dict[str, object]) -> set[str]:
    return {c["name"] for c in run["checks"] if not c["passed"]}  # type: ignore[attr-defined, index]


def first_finished(stack: BillingStack, seller: dict[str, str], listing: str) -> dict[str, object]:
    until(lambda: any(r["finished_at"] for r in runs(stack, seller, listing)), 30)
    return next(r for r in runs(stack, seller, listing) if r["finished_at"])


def contract(stack: BillingStack, seller: dict[str, str], listing: str) -> dict[str, object]:
    r = stack.http.get(f"/v1/market/listings/{listing}/contracts", headers=seller)
    assert r.status_code == 200, r.text
    data: list[dict[str, object]] = r.json()["data"]
    assert data, "no contract"
    return data[0]


def test_a_new_listing_is_routed_only_after_a_passing_probe_billed_to_no_one(
        stack: BillingStack, seller: dict[str, str]) -> None:
    buyer = stack.account(100)
    key = stack.key(buyer)
    dead = stack.listing(seller, DEAD_MODEL, "0.10", "0.20", path="/k/status=401/v1", admitted=False)
    run = first_finished(stack, seller, dead)
    assert run["outcome"] == "failed" and "auth" in failed_check(run), run
    view = stack.listing_view(seller, dead)
    assert view["status"] == "pending_admission" and "auth" in str(view["status_reason"]), view
    assert chat(stack, key, DEAD_MODEL).status_code == 503  # never routed: no buyer request reaches it

    honest = stack.listing(seller, HONEST_MODEL, "0.10", "0.20")  # waits until the view says active
    passed = [r for r in runs(stack, seller, honest) if r["outcome"] == "passed"]
    assert passed and not failed_check(passed[0]), passed
    names = {c["name"] for c in passed[0]["checks"]}  # type: ignore[attr-defined]
    assert {"auth", "answers", "streaming", "usage", "model_name"} <= names
    assert passed[0]["ttft_ms"] is not None
    terms = contract(stack, seller, honest)
    assert terms["state"] == "active" and terms["terms"]["upstream_model"] == "minimax-m2.5-highspeed"  # type: ignore[index]

    now = stack.http.post(f"/v1/market/listings/{honest}/probe", headers=seller)
    assert now.status_code == 200 and now.json()["outcome"] == "passed", now.text
    # probes cost no one anything: no earnings for the seller, the buyer's balance untouched
    earned = stack.http.get("/v1/market/earnings", headers=seller).json()
    assert earned["total_micro_usd"] == 0, earned
    assert stack.balance(buyer) == 1_000_000
    until(lambda: chat(stack, key, HONEST_MODEL).status_code == 200)


def test_revoked_key_degrades_then_suspends_and_no_buyer_request_fails(
        stack: BillingStack, seller: dict[str, str]) -> None:
    buyer = stack.account(100)
    key = stack.key(buyer)
    honest = stack.listing(seller, REVOKED_MODEL, "2.00", "4.00")
    revoked = stack.listing(seller, REVOKED_MODEL, "0.01", "0.02", path="/k/reject_after=1/v1")  # admitted, then 401
    answers: list[httpx.Response] = []

    def fell_back() -> bool:  # once the proxy has the cheap listing, it is tried first and answers 401
        answers.append(chat(stack, key, REVOKED_MODEL))
        return answers[-1].headers.get("x-df-market-attempts") == "2"

    until(fell_back, 20)
    assert [r.status_code for r in answers] == [200] * len(answers)  # the buyer never sees the 401
    assert {r.headers["x-df-market-listing-id"] for r in answers} == {honest}
    states: list[str] = []

    def suspended() -> bool:
        state = str(contract(stack, seller, revoked)["state"])
        if not states or states[-1] != state:
            states.append(state)
        return state == "suspended"

    until(suspended, 30)
    assert "degraded" in states, states
    view = stack.listing_view(seller, revoked)
    assert view["status"] == "suspended" and "401" in str(view["status_reason"]), view
    pool_key = next(k for k in stack.http.get("/v1/pool/keys", headers=seller).json()["data"]
                    if k["id"] == view["pool_key_id"])
    assert pool_key["status"] == "disabled"
    checks = stack.http.get(f"/v1/market/contracts/{contract(stack, seller, revoked)['id']}/checks",
                            headers=seller).json()["data"]
    assert any(c["trigger"] == "proxy_reports" for c in checks), checks
    # out of every proxy's snapshot: requests go straight to the honest listing, one attempt each
    until(lambda: all(chat(stack, key, REVOKED_MODEL).headers.get("x-df-market-attempts") == "1"
                      for _ in range(4)))
    cid = contract(stack, seller, revoked)["id"]
    refused = stack.http.post(f"/v1/market/contracts/{cid}/unsuspend", headers=seller)
    assert refused.status_code == 409, refused.text  # its latest check failed


def test_over_reporting_upstream_is_flagged_and_not_admitted(stack: BillingStack, seller: dict[str, str]) -> None:
    # ten one-token words (our count: 10), reported as 20
    double = stack.listing(seller, DOUBLE_MODEL, "0.10", "0.20", path=f"/k/usage_factor=2,text={WORDS}/v1",
                           admitted=False)
    run = first_finished(stack, seller, double)
    assert run["outcome"] == "failed" and failed_check(run) == {"usage"}, run
    view = stack.listing_view(seller, double)
    assert view["status"] == "pending_admission" and "over-reported" in str(view["status_reason"]), view


def test_upstream_naming_another_model_fails_the_model_check(stack: BillingStack, seller: dict[str, str]) -> None:
    swapped = stack.listing(seller, SUBSTITUTE_MODEL, "0.10", "0.20", path="/k/serve_model=cheap-7b/v1",
                            admitted=False)
    run = first_finished(stack, seller, swapped)
    assert run["outcome"] == "failed" and failed_check(run) == {"model_name"}, run
    assert stack.listing_view(seller, swapped)["status"] == "pending_admission"


def test_a_seller_claiming_deepseek_from_its_own_host_is_never_trusted(
        stack: BillingStack, seller: dict[str, str]) -> None:
    buyer = stack.account(100)
    key = stack.key(buyer)
    claimed = stack.listing(seller, CLAIMED_MODEL, "0.10", "0.20", provider="deepseek")
    until(lambda: chat(stack, key, CLAIMED_MODEL).status_code == 200)
    r = chat(stack, key, CLAIMED_MODEL)
    assert r.headers["x-df-market-provider"] == "deepseek" and r.headers["x-df-market-trusted"] == "false"
    refused = chat(stack, key, CLAIMED_MODEL, **{"X-Privacy-Mode": "trusted_only"})
    assert refused.status_code == 503, refused.text  # no trusted listing: the self-hosted "deepseek" is not one
    keys = stack.http.get("/v1/pool/keys", headers=seller).json()["data"]
    pool_key = next(k for k in keys if k["id"] == stack.listing_view(seller, claimed)["pool_key_id"])
    assert pool_key["trusted"] is False

    admin = {"Authorization": f"Bearer {stack.admin}"}
    marked = httpx.patch(f"{stack.control.url}/api/admin/pool-keys/{pool_key['id']}", headers=admin,
                         json={"trusted": True}, timeout=20)  # the operator API: the control plane's own port
    assert marked.status_code == 200, marked.text
    until(lambda: chat(stack, key, CLAIMED_MODEL, **{"X-Privacy-Mode": "trusted_only"}).status_code == 200)
    assert chat(stack, key, CLAIMED_MODEL).headers["x-df-market-trusted"] == "true"


def test_a_suspended_contract_comes_back_only_after_a_passing_check(
        stack: BillingStack, seller: dict[str, str]) -> None:
    buyer = stack.account(100)
    key = stack.key(buyer)
    listing = stack.listing(seller, SUSPEND_MODEL, "0.10", "0.20")
    pool_id = stack.listing_view(seller, listing)["pool_key_id"]
    cid = contract(stack, seller, listing)["id"]
    wrong = stack.http.patch(f"/v1/pool/keys/{pool_id}", headers=seller, json={"api_key": "sk-not-the-key-0"})
    assert wrong.status_code == 200, wrong.text
    def reverify_fails() -> str:
        run = stack.http.post(f"/v1/market/contracts/{cid}/reverify", headers=seller).json()
        assert run["outcome"] == "failed" and "auth" in failed_check(run), run
        return str(contract(stack, seller, listing)["state"])

    assert reverify_fails() == "degraded"  # the seller's key is now refused upstream: the first failure degrades
    until(lambda: reverify_fails() == "suspended", 20)  # DF_CONTRACT_SUSPEND_AFTER=3 failures in a row suspend
    assert stack.http.post(f"/v1/market/contracts/{cid}/unsuspend", headers=seller).status_code == 409
    until(lambda: chat(stack, key, SUSPEND_MODEL).status_code == 503)  # out of the snapshot

    fixed = stack.http.patch(f"/v1/pool/keys/{pool_id}", headers=seller, json={"api_key": "sk-upstream-bill"})
    assert fixed.status_code == 200, fixed.text
    run = stack.http.post(f"/v1/market/contracts/{cid}/reverify", headers=seller).json()
    assert run["outcome"] == "passed", run
    assert contract(stack, seller, listing)["state"] == "suspended"  # a passing check alone does not unsuspend
    back = stack.http.post(f"/v1/market/contracts/{cid}/unsuspend", headers=seller)
    assert back.status_code == 200 and back.json()["state"] == "active", back.text
    assert stack.listing_view(seller, listing)["status"] == "active"
    until(lambda: chat(stack, key, SUSPEND_MODEL).status_code == 200)


def operator(stack: BillingStack) -> httpx.Client:
    """The operator API, on the control plane's own port."""
    return httpx.Client(base_url=stack.control.url, timeout=20, headers={"Authorization": f"Bearer {stack.admin}"})


def new_model(ops: httpx.Client, name: str) -> str:
    model = f"fake/{name}-{secrets.token_hex(3)}"
    made = ops.post("/api/admin/models", json={
        "id": model, "owned_by": "fake", "input_price": "0.10", "output_price": "0.20", "context_length": 8192})
    assert made.status_code == 201 and made.json()["probe_expect"] == {}, made.text
    return model


def test_a_tokenizer_outside_the_models_fingerprint_fails_it_and_degrades(
        stack: BillingStack, seller: dict[str, str], request: pytest.FixtureRequest) -> None:
    ops = operator(stack)
    request.addfinalizer(ops.close)
    model = new_model(ops, "fingerprinted")
    honest = stack.listing(seller, model, "0.10", "0.20")  # admitted: the model has no fingerprint yet
    other = stack.listing(seller, model, "0.10", "0.20", path="/k/prompt_tokens=5/v1")  # another tokenizer's count
    url = f"/api/admin/models/{model}"
    for bad in ({"prompt_tokens": [30, 20]}, {"prompt_tokens": [1]}, {"prompt_tokens": [0, 5]}, {"tokens": [1, 2]}):
        refused = ops.patch(url, json={"probe_expect": bad})
        assert refused.status_code == 400 and refused.json()["error"]["type"] == "bad_request", refused.text
    assert ops.get(url).json()["probe_expect"] == {}  # nothing changed
    fake_count = math.ceil(len(PROBE_PROMPT) / 4)  # the fake provider's prompt-token rule (fake_provider/content.py)
    band = [fake_count - 2, fake_count + 2]
    r = ops.patch(url, json={"probe_expect": {"prompt_tokens": band}})
    assert r.status_code == 200 and r.json()["probe_expect"] == {"prompt_tokens": band}, r.text

    def reverify(listing: str) -> dict[str, object]:
        cid = contract(stack, seller, listing)["id"]
        run: dict[str, object] = stack.http.post(f"/v1/market/contracts/{cid}/reverify", headers=seller).json()
        return run

    passed = reverify(honest)
    assert passed["outcome"] == "passed", passed
    assert contract(stack, seller, honest)["state"] == "active"
    failed = reverify(other)
    assert failed["outcome"] == "failed" and failed_check(failed) == {"fingerprint"}, failed
    assert contract(stack, seller, other)["state"] == "degraded"


def test_breaker_ejections_reach_the_sellers_stats(stack: BillingStack, seller: dict[str, str]) -> None:
    with operator(stack) as ops:
        model = new_model(ops, "ejected")
    pair = [stack.listing(seller, model, "0.10", "0.20"), stack.listing(seller, model, "0.10", "0.20")]

    def ejections() -> list[int]:
        return [int(stack.http.get(f"/v1/market/listings/{i}/stats", headers=seller).json()["ejections"])
                for i in pair]

    assert ejections() == [0, 0]
    key = stack.key(stack.account(100))
    for _ in range(5):  # DF_EJECT_CONSECUTIVE (5) failures in a row on both upstreams
        r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "fake": {"status": 500}})
        assert r.status_code >= 500
    # one of the two is ejected; the other stays (at most half of a model's listings are ejected at once)
    until(lambda: sorted(ejections()) == [0, 1], 20)
