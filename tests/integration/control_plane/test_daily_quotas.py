"""Daily quotas (per key and per account): settable through /api/keys and the admin API, shown
in GET /api/account, validated, and carried to the proxies in the snapshot."""

from __future__ import annotations

import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, admin_auth, assert_error
from tests.integration.control_plane.test_snapshot_publish import wait_for


async def test_key_daily_quotas_are_set_shown_and_published(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    made = await http.post("/api/keys", headers=buyer.auth, json={"daily_request_limit": 500})
    assert made.status_code == 201, made.text
    key = made.json()
    assert (key["daily_request_limit"], key["daily_token_quota"]) == (500, None)
    patched = await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth,
                               json={"daily_token_quota": 200_000, "daily_request_limit": None})
    assert (patched.json()["daily_request_limit"], patched.json()["daily_token_quota"]) == (None, 200_000)
    shown = (await http.get(f"/api/keys/{key['id']}", headers=buyer.auth)).json()
    assert shown["daily_token_quota"] == 200_000
    snap = await wait_for(redis_url, control_plane.redis_prefix,
                          lambda s: any(k.id == key["id"] and k.daily_token_quota == 200_000 for k in s.keys))
    published = next(k for k in snap.keys if k.id == key["id"])
    assert published.daily_request_limit is None
    for bad in ({"daily_request_limit": 0}, {"daily_token_quota": -5}, {"daily_request_limit": "10"}):
        field = next(iter(bad))
        assert_error(await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth, json=bad), 400, field)
        assert_error(await http.post("/api/keys", headers=buyer.auth, json=bad), 400, field)


async def test_account_daily_quotas_through_the_admin_api(
    http: httpx.AsyncClient, control_plane: ControlPlane, redis_url: str, buyer: Account
) -> None:
    path = f"/api/admin/accounts/{buyer.id}"
    patched = await http.patch(path, headers=admin_auth(control_plane),
                               json={"daily_request_limit": 1000, "daily_token_quota": 5_000_000})
    assert patched.status_code == 200, patched.text
    me = (await http.get("/api/account", headers=buyer.auth)).json()
    assert (me["daily_request_limit"], me["daily_token_quota"]) == (1000, 5_000_000)
    await wait_for(redis_url, control_plane.redis_prefix, lambda s: any(
        a.id == buyer.id and a.daily_request_limit == 1000 and a.daily_token_quota == 5_000_000 for a in s.accounts))
    cleared = await http.patch(path, headers=admin_auth(control_plane), json={"daily_request_limit": None})
    assert cleared.json()["daily_request_limit"] is None and cleared.json()["daily_token_quota"] == 5_000_000
    assert_error(await http.patch(path, headers=admin_auth(control_plane), json={"daily_token_quota": 0}),
                 400, "daily_token_quota")
