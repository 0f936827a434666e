"""`python -m control_plane.keys_rotate` (what `dragonfly keys rotate` runs).

Re-encrypts every pool key under the newest data key (the first of DF_ENCRYPTION_KEYS, or
the key derived from the first of DF_SECRET_KEYS). Idempotent and resumable: keys already
under the newest key are left alone; each re-encryption is its own compare-and-set UPDATE
(only if the ciphertext is still the one read), in batches by id, so an interrupted run is
finished by running it again and a seller's concurrent PATCH is never overwritten.
Keys that decrypt with no configured key are counted and named (ids only); exit 1 then.
The re-encryption notifies the snapshot publisher like any pool-key change.

Rotation without downtime (README, "Keys and secrets"): put the new secret first in
DF_SECRET_KEYS on the control plane (old one second) and the new DF_SEAL_KEYS first on
proxies; restart; run this; remove the old secret once old login tokens may expire.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from control_plane.crypto import SecretBox, SecretBoxError, data_keys
from control_plane.db.pool import connect
from control_plane.settings import SettingsError, load_settings

BATCH = 500


async def rotate(conn: asyncpg.Connection, box: SecretBox) -> tuple[int, int, list[str]]:
    """(re-encrypted, already current, undecryptable ids) over every pool key."""
    resealed = current = 0
    bad: list[str] = []
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = await conn.fetch("SELECT id::text, account_id::text, key_ciphertext FROM pool_keys WHERE id > $1 "
                                "ORDER BY id LIMIT $2", after, BATCH)
        if not rows:
            return resealed, current, bad
        for key_id, seller_id, blob in rows:
            try:
                plain, index = box.opened_with(bytes(blob), seller_id=seller_id, key_id=key_id)
            except SecretBoxError:
                bad.append(key_id)
                continue
            if index == 0:
                current += 1
                continue
            fresh = box.seal(plain, seller_id=seller_id, key_id=key_id)
            done = await conn.execute("UPDATE pool_keys SET key_ciphertext = $2 WHERE id = $1 AND key_ciphertext = $3",
                                      key_id, fresh, blob)
            resealed += done.endswith(" 1")
        after = rows[-1][0]


async def _main() -> int:
    settings = load_settings()
    box = SecretBox(*data_keys(settings.secret_keys, settings.encryption_keys))
    conn = await connect(settings.database_url, connect_timeout_s=settings.db_connect_timeout_s, command_timeout_s=60)
    try:
        resealed, current, bad = await rotate(conn, box)
    finally:
        await conn.close()
    print(f"keys rotate: {resealed} pool key(s) re-encrypted under the newest key, {current} already current")
    if bad:
        print(f"keys rotate: {len(bad)} pool key(s) decrypt with no configured key (left unchanged): "
              + ", ".join(bad[:20]), file=sys.stderr)
        return 1
    return 0


def main() -> int:
    try:
        return asyncio.run(_main())
    except SettingsError as exc:
        print(f"keys rotate: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"keys rotate: cannot reach the database: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
