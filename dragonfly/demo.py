"""A demo market: the seed chat models served by the fake provider as one demo seller."""

from __future__ import annotations

import time
import uuid

from dragonfly.catalog import CHAT_MODELS
from wire.keys import derive_hash_secret, hash_key, new_key
from wire.snapshot import Account, Key, Listing, Plan, Snapshot

DEMO_BUYER = "00000000-0000-4000-8000-0000000000b1"
DEMO_SELLER = "00000000-0000-4000-8000-0000000000s1".replace("s", "5")
PLANS = (
    Plan(name="free", rpm_limit=10, tpm_limit=40_000),
    Plan(name="starter", rpm_limit=60, tpm_limit=200_000),
    Plan(name="pro", rpm_limit=300, tpm_limit=1_000_000),
    Plan(name="enterprise", rpm_limit=None, tpm_limit=None),
)


def demo_listings(base_url: str, upstream_key: str) -> tuple[Listing, ...]:
    """One listing per catalog chat model, at 80% of the catalog price, served by `base_url`."""
    return tuple(
        Listing(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"dragonfly-demo/{m.id}")),
            seller_account_id=DEMO_SELLER,
            provider="fake",
            model=m.id,
            upstream_model=m.id.split("/", 1)[1],
            base_url=base_url.rstrip("/"),
            upstream_key=upstream_key,
            ask_input=m.input_price * 8 // 10,
            ask_output=m.output_price * 8 // 10,
        )
        for m in CHAT_MODELS
    )


def demo_snapshot(secret_key: str, base_url: str, upstream_key: str, buyer_key: str | None = None,
                  ) -> tuple[Snapshot, str]:
    """The demo snapshot and the raw demo buyer key (new unless given)."""
    raw = buyer_key or new_key()
    key = Key(id=str(uuid.uuid5(uuid.NAMESPACE_URL, "dragonfly-demo/key")),
              hash=hash_key(derive_hash_secret(secret_key), raw), account_id=DEMO_BUYER)
    snap = Snapshot(
        created_at=int(time.time()),
        models=CHAT_MODELS,
        listings=demo_listings(base_url, upstream_key),
        keys=(key,),
        accounts=(
            Account(id=DEMO_BUYER, plan="pro", trading_terms_accepted=True),
            Account(id=DEMO_SELLER, plan="free"),
        ),
        plans=PLANS,
    )
    return snap, raw
