"""Pool keys that no longer decrypt are loud, not silent (issue 11, item 3).

Before: after a change of DF_SECRET_KEY every listing was dropped with an INFO line, the
control plane was "ready" and sellers saw their keys as active. Now: an ERROR line per pool
key (once, ids only), a `/readyz` failure reason, the `dragonfly_pool_keys_undecryptable`
gauge on the control plane's /metrics, `status: "undecryptable"` on the pool key and
`not_routed` on its listings; re-entering the upstream key (PATCH) heals all of it.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx

from tests.security.secrets_support import account, listing, login, private_place, until
from tests.support.procs import granian

UPSTREAM = "sk-up-undecryptable-" + secrets.token_hex(6)


def _gauge(control_url: str) -> float:
    text = httpx.get(control_url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("dragonfly_pool_keys_undecryptable "))
    return float(line.split()[1])


def test_an_undecryptable_pool_key_is_an_error_a_reason_a_metric_and_a_status(
    tmp_path: Path, pg_server_url: str, redis_url: str
) -> None:
    with private_place(pg_server_url, redis_url) as place:
        admin = "admin-" + secrets.token_hex(12)
        base = {"DF_DATABASE_URL": place.database_url, "DF_REDIS_URL": place.redis_url,
                "DF_REDIS_PREFIX": place.prefix, "DF_ADMIN_TOKEN": admin, "DF_ALLOW_PRIVATE_UPSTREAMS": "1"}
        with granian("control_plane.asgi:app", log_dir=tmp_path, env={**base, "DF_SECRET_KEY": "a" * 40}) as control, \
                httpx.Client(base_url=control.url, timeout=20) as http:
            email, seller = account(http, admin)
            pool_id, listing_id = listing(http, seller, "http://127.0.0.1:9/v1", UPSTREAM)

        # the secret changed, PostgreSQL kept its data
        with granian("control_plane.asgi:app", log_dir=tmp_path, env={**base, "DF_SECRET_KEY": "b" * 40}) as control, \
                httpx.Client(base_url=control.url, timeout=20) as http:
            until(lambda: bool(http.get("/healthz").json()["snapshot_version"]))
            ready = http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert "pool key" in ready.json()["status"] and pool_id in ready.json()["status"]
            assert _gauge(control.url) == 1.0

            seller = login(http, email)
            pools = http.get("/v1/pool/keys", headers=seller).json()["data"]
            assert [(p["id"], p["status"]) for p in pools] == [(pool_id, "undecryptable")]
            assert "PATCH /v1/pool/keys" in pools[0]["status_reason"]
            listed = http.get("/v1/market/listings", headers=seller).json()["data"]
            assert [x["id"] for x in listed] == [listing_id] and "undecryptable" in listed[0]["not_routed"]

            # another snapshot build: still one ERROR line for this key
            version = http.get("/healthz").json()["snapshot_version"]
            account(http, admin)
            deadline = time.monotonic() + 15
            while http.get("/healthz").json()["snapshot_version"] == version:
                assert time.monotonic() < deadline, "no rebuild after a change"
                time.sleep(0.05)
            errors = [x for x in control.logs().splitlines() if " ERROR " in x and pool_id in x]
            assert len(errors) == 1, errors
            assert UPSTREAM not in control.logs()

            # the seller re-enters the key: healthy again
            fixed = http.patch(f"/v1/pool/keys/{pool_id}", headers=seller, json={"api_key": UPSTREAM})
            assert fixed.status_code == 200, fixed.text
            assert fixed.json()["status"] == "active" and fixed.json()["status_reason"] is None
            until(lambda: http.get("/readyz").status_code == 200)
            assert _gauge(control.url) == 0.0
            assert http.get("/v1/market/listings", headers=seller).json()["data"][0]["not_routed"] is None
