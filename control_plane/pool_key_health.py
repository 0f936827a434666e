"""Pool keys whose upstream key no longer decrypts (DF_SECRET_KEYS / DF_ENCRYPTION_KEYS changed).

Such a key's listings cannot be routed. It is never silent: each one is an ERROR log line
once per process (ids only, never key material), the gauge
`dragonfly_pool_keys_undecryptable`, a `/readyz` failure reason, `status: "undecryptable"`
in the seller's pool-key view and `not_routed` on its listings. The cure is to restore the
old secret (newest first in DF_SECRET_KEYS) or to re-enter the upstream key
(PATCH /v1/pool/keys/{id}); `dragonfly keys rotate` re-encrypts decryptable keys under the newest.

`PoolKeyHealth.scan` runs at start-up and before every snapshot build; the builder reuses
its plaintexts, so each pool key is decrypted once per build.
"""

from __future__ import annotations

import logging

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from control_plane.crypto import SecretBox, SecretBoxError

log = logging.getLogger("control_plane.pool_keys")
_ALL = "SELECT id::text, account_id::text, key_ciphertext FROM pool_keys ORDER BY id"


class PoolKeyHealth:
    def __init__(self, box: SecretBox, registry: CollectorRegistry) -> None:
        self._box = box
        self._reported: set[str] = set()
        self.undecryptable: tuple[str, ...] = ()
        self._gauge = Gauge("dragonfly_pool_keys_undecryptable",
                            "pool keys whose upstream key decrypts with no configured key", registry=registry,
                            multiprocess_mode="mostrecent")

    async def scan(self, conn: asyncpg.Connection) -> dict[str, str]:
        """Decrypt every pool key; log each new failure once; return key id -> plaintext."""
        opened: dict[str, str] = {}
        bad: list[str] = []
        for key_id, seller_id, blob in await conn.fetch(_ALL):
            try:
                opened[key_id] = self._box.open(bytes(blob), seller_id=seller_id, key_id=key_id)
            except SecretBoxError:
                bad.append(key_id)
                if key_id not in self._reported:
                    self._reported.add(key_id)
                    log.error("pool key %s of seller %s does not decrypt with any configured key; its listings are "
                              "not routed. Restore the old secret in DF_SECRET_KEYS (newest first) or have the "
                              "seller re-enter the upstream key (PATCH /v1/pool/keys/%s)", key_id, seller_id, key_id)
        self.undecryptable = tuple(bad)
        self._gauge.set(len(bad))
        return opened

    def reason(self) -> str:
        """'' when every pool key decrypts, else the /readyz failure reason."""
        if not self.undecryptable:
            return ""
        shown = ", ".join(self.undecryptable[:5]) + (" …" if len(self.undecryptable) > 5 else "")
        return (f"{len(self.undecryptable)} pool key(s) do not decrypt with the configured keys "
                f"(DF_SECRET_KEYS / DF_ENCRYPTION_KEYS changed?): {shown}")


def decrypts(box: SecretBox, row: asyncpg.Record, key_id_column: str = "id") -> bool:
    """Whether a pool-key or listing row (with key_ciphertext and account_id) opens with the configured keys."""
    try:
        box.open(bytes(row["key_ciphertext"]), seller_id=row["account_id"], key_id=row[key_id_column])
    except SecretBoxError:
        return False
    return True
