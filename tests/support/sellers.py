"""A market of several fake-provider sellers with different prices, TTFTs and failure modes."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.market import BUYER, SECRET, SELLER, SELLER_KEY
from wire.codec import encode_snapshot_json
from wire.keys import derive_hash_secret, hash_key, new_key
from wire.snapshot import Account, Key, Listing, Model, Profile, Snapshot

NO_TERMS = "00000000-0000-4000-8000-00000000b00e"
USD = 1_000_000


def _l(lid: str, model: str, base: str, price: float, provider: str, trusted: bool = False) -> Listing:
    return Listing(id=lid, seller_account_id=SELLER, provider=provider, model=model, upstream_model=model,
                   base_url=base, upstream_key=SELLER_KEY, ask_input=int(price * USD),
                   ask_output=int(price * 3 * USD), trusted=trusted, fee_profile_id="fee-std")


def sellers(fake: str) -> tuple[Listing, ...]:
    return (
        _l("s-cheap", "mkt/chat", f"{fake}/k/ttft_ms=300/v1", 0.10, "cheapco"),
        _l("s-mid", "mkt/chat", f"{fake}/k/ttft_ms=50/v1", 0.25, "midco"),
        _l("s-fast", "mkt/chat", f"{fake}/v1", 0.40, "fastco", trusted=True),
        _l("f-down", "mkt/flaky", "http://127.0.0.1:9/v1", 0.04, "downco"),
        _l("f-throttled", "mkt/flaky", f"{fake}/k/status=429/v1", 0.06, "throttleco"),
        _l("f-good", "mkt/flaky", f"{fake}/v1", 0.30, "goodco"),
        _l("e-bad", "mkt/eject", f"{fake}/k/status=503/v1", 0.10, "badco"),
        _l("e-dear1", "mkt/eject", f"{fake}/v1", 1.00, "dearco"),
        _l("e-dear2", "mkt/eject", f"{fake}/v1", 1.10, "dearco"),
        _l("h-slow", "mkt/hedge", f"{fake}/k/ttft_ms=1200/v1", 0.10, "slowco"),
        _l("h-fast", "mkt/hedge", f"{fake}/v1", 0.20, "fastco"),
        *(_l(f"st-{i}", "mkt/sticky", f"{fake}/v1", 0.20, f"stickco{i}") for i in range(4)),
        # deadlines (tests/integration/proxy/test_deadlines.py): slow but healthy sellers, trickling JSON
        _l("d-slow", "mkt/deadline", f"{fake}/k/ttft_ms=400/v1", 0.10, "tardyco"),
        _l("d-other", "mkt/deadline", f"{fake}/k/ttft_ms=400/v1", 0.20, "otherco"),
        _l("t-trickle", "mkt/trickle", f"{fake}/k/pieces=8,piece_ms=400/v1", 0.10, "trickleco"),
        _l("t-stall", "mkt/stall", f"{fake}/k/pieces=2,piece_ms=5000/v1", 0.10, "stallco"),
        _l("t-huge", "mkt/huge", f"{fake}/k/chunks=4000/v1", 0.10, "hugeco"),
        _l("t-huge-chunked", "mkt/huge-chunked", f"{fake}/k/chunks=4000,pieces=4/v1", 0.10, "hugeco"),
    )


PROFILES = (
    Profile(id="prof-cost", account_id=BUYER, strategy="cost-first"),
    Profile(id="prof-fast-only", account_id=BUYER, provider_only=("fastco",)),
    Profile(id="prof-cap", account_id=BUYER, strategy="cost-first", max_price_input=200_000),
    Profile(id="prof-nofallback", account_id=BUYER, fallback_enabled=False),
    Profile(id="prof-hedge", account_id=BUYER, strategy="cost-first", hedge_ttft_ms=200),
    Profile(id="prof-deadline", account_id=BUYER, strategy="cost-first", deadline_ms=100),
)


class SellerMarket:
    def __init__(self, path: Path, fake_url: str) -> None:
        self.path = path
        self.fake_url = fake_url
        self.keys: dict[str, str] = {}
        self._records: list[Key] = []
        for name, account, profile in (("main", BUYER, None), ("cost", BUYER, "prof-cost"),
                                       ("fast_only", BUYER, "prof-fast-only"), ("cap", BUYER, "prof-cap"),
                                       ("nofallback", BUYER, "prof-nofallback"), ("hedge", BUYER, "prof-hedge"),
                                       ("deadline", BUYER, "prof-deadline"), ("no_terms", NO_TERMS, None)):
            raw = new_key()
            self.keys[name] = raw
            self._records.append(Key(id=f"key-{name}", hash=hash_key(derive_hash_secret(SECRET), raw),
                                     account_id=account, routing_profile_id=profile))
        models = ("mkt/chat", "mkt/flaky", "mkt/eject", "mkt/hedge", "mkt/sticky", "mkt/deadline", "mkt/trickle",
                  "mkt/stall", "mkt/huge", "mkt/huge-chunked")
        snap = Snapshot(
            version=f"v{time.monotonic_ns()}", created_at=int(time.time()),
            models=tuple(Model(id=m, owned_by="mkt", input_price=USD, output_price=3 * USD) for m in models),
            listings=sellers(fake_url), keys=tuple(self._records),
            accounts=(Account(id=BUYER, plan="pro", trading_terms_accepted=True), Account(id=NO_TERMS, plan="pro"),
                      Account(id=SELLER)),
            profiles=PROFILES,
        )
        path.write_bytes(encode_snapshot_json(snap))
