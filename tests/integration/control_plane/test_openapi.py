"""The OpenAPI document, x-request-id on every response, and the error shape on odd requests."""

from __future__ import annotations

import httpx

from control_plane.http.routes import api_routes
from tests.integration.control_plane.conftest import Account, assert_error


async def test_openapi_lists_every_route_with_its_schemas(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    for route in api_routes():
        op = doc["paths"][route.path][route.method.lower()]
        assert str(route.status) in op["responses"]
        if route.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[-1]
            assert doc["components"]["schemas"][name]["additionalProperties"] is False
    key_create = doc["components"]["schemas"]["KeyCreate"]["properties"]
    assert {"name", "key_group", "monthly_budget_cents", "routing_profile_id", "ip_whitelist", "ip_blacklist",
            "model_allowlist", "expires_at"} <= set(key_create)
    assert "key" in doc["components"]["schemas"]["KeyCreated"]["properties"]
    assert "key" not in doc["components"]["schemas"]["KeyView"]["properties"]
    pay = doc["paths"]["/v1/billing/crypto/create-payment"]["post"]
    assert {"201", "400", "403", "503"} <= set(pay["responses"])
    assert {"payment_id", "amount_usdt", "address", "network", "expires_at"} <= set(
        doc["components"]["schemas"]["PaymentView"]["properties"])
    assert "409" in doc["paths"]["/api/admin/payments/{id}/confirm"]["post"]["responses"]
    assert {"total_micro_usd", "available_micro_usd", "locked_micro_usd"} <= set(
        doc["components"]["schemas"]["EarningsView"]["properties"])
    for sub in ("", "/summary", "/timeseries", "/monthly", "/settlements"):
        assert "get" in doc["paths"]["/v1/market/earnings" + sub]


async def test_every_response_has_a_request_id(http: httpx.AsyncClient, buyer: Account) -> None:
    for response in [
        await http.get("/healthz"), await http.get("/readyz"), await http.get("/api/openapi.json"),
        await http.get("/api/keys", headers=buyer.auth), await http.get("/api/keys"), await http.get("/nowhere"),
        await http.put("/api/keys", headers=buyer.auth),
    ]:
        assert len(response.headers["x-request-id"]) >= 8, response.request.url
    echoed = await http.get("/healthz", headers={"x-request-id": "client-supplied-123"})
    assert echoed.headers["x-request-id"] == "client-supplied-123"
    hostile = await http.get("/healthz", headers={"x-request-id": "bad id with spaces"})
    assert hostile.headers["x-request-id"] != "bad id with spaces"


async def test_odd_requests_get_the_error_shape(http: httpx.AsyncClient, buyer: Account) -> None:
    assert_error(await http.get("/nowhere"), 404, "/api/openapi.json")
    assert_error(await http.post("/api/keys", headers={**buyer.auth, "content-type": "text/plain"}, content=b"{}"),
                 415, "application/json")
    assert_error(await http.post("/api/keys", headers=buyer.auth, content=b"[1,2]"), 400)
    assert_error(await http.post("/api/keys", headers=buyer.auth, content=b"x" * 70_000), 413)
    assert_error(await http.post("/api/keys", headers=buyer.auth, content=b'{"name": NaN}'), 400)
    assert_error(await http.get("/api/keys/not-a-uuid", headers=buyer.auth), 404)


async def test_readyz_reports_the_published_version(http: httpx.AsyncClient) -> None:
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and len(ready.json()["snapshot_version"]) == 24
