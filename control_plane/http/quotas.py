"""Per-account quotas on every object kind an account creates (one rule, stated once).

Every create counts the account's live objects of that kind inside the creating transaction,
under a transaction-scoped advisory lock on (kind, account), so concurrent creates cannot
pass the limit together. At the limit the answer is 403 `forbidden` naming the limit, the
setting that raises it, and how to free a place. Limits (`DF_MAX_*`, README settings table):

| kind | counts | setting | default |
|---|---|---|---|
| routing profiles | every profile | DF_MAX_ROUTING_PROFILES | 20 |
| buyer keys | keys not revoked | DF_MAX_KEYS | 100 |
| management keys | keys not revoked | DF_MAX_MANAGEMENT_KEYS | 20 |
| pool keys | every pool key | DF_MAX_POOL_KEYS | 50 |
| listings | every listing | DF_MAX_LISTINGS | 200 |
| payment intents | open intents (pending, not expired) | DF_MAX_OPEN_PAYMENTS | 3 |

Routing profiles and payment intents also need a verified email (checked by their handlers).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from control_plane.errors import Forbidden
from control_plane.settings import Settings


@dataclass(frozen=True)
class Quota:
    what: str
    setting: str
    count_sql: str
    free_hint: str

    def limit(self, settings: Settings) -> int:
        return int(getattr(settings.quotas, self.setting.removeprefix("DF_MAX_").lower()))


ROUTING_PROFILES = Quota("routing profiles", "DF_MAX_ROUTING_PROFILES",
                         "SELECT count(*) FROM routing_profiles WHERE account_id = $1",
                         "edit an existing profile with PATCH /api/routing/profiles/{id} instead")
KEYS = Quota("API keys", "DF_MAX_KEYS",
             "SELECT count(*) FROM api_keys WHERE account_id = $1 AND status <> 'revoked'",
             "revoke one with DELETE /api/keys/{id}")
MANAGEMENT_KEYS = Quota("management keys", "DF_MAX_MANAGEMENT_KEYS",
                        "SELECT count(*) FROM management_keys WHERE account_id = $1 AND revoked_at IS NULL",
                        "revoke one with DELETE /api/management-keys/{id}")
POOL_KEYS = Quota("pool keys", "DF_MAX_POOL_KEYS", "SELECT count(*) FROM pool_keys WHERE account_id = $1",
                  "delete one with DELETE /v1/pool/keys/{id}")
LISTINGS = Quota("listings", "DF_MAX_LISTINGS", "SELECT count(*) FROM listings WHERE account_id = $1",
                 "delete one with DELETE /v1/market/listings/{id}")
OPEN_PAYMENTS = Quota("open payment intents", "DF_MAX_OPEN_PAYMENTS",
                      "SELECT count(*) FROM crypto_payments WHERE account_id = $1 AND confirmed_at IS NULL"
                      " AND expires_at > now()",
                      "pay or let one expire, then retry")


async def enforce(conn: asyncpg.Connection, settings: Settings, quota: Quota, account_id: str) -> None:
    """403 when the account already has `limit` objects of this kind. Call inside the creating
    transaction (the lock is held until it ends)."""
    limit = quota.limit(settings)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"quota:{quota.setting}:{account_id}")
    count = int(await conn.fetchval(quota.count_sql, account_id))
    if count >= limit:
        raise Forbidden(f"quota reached: this account has {count} {quota.what} and the limit is {limit} "
                        f"({quota.setting}); {quota.free_hint}, or ask the operator to raise {quota.setting}")
