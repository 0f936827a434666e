"""A test market: snapshot files whose listings point at a running fake provider."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dragonfly.catalog import CHAT_MODELS
from dragonfly.demo import PLANS, demo_listings
from wire.codec import encode_snapshot_json
from wire.keys import derive_hash_secret, hash_key, new_key
from wire.snapshot import Account, ApiFormat, Key, Listing, Model, PriceUnit, Snapshot

SECRET = "test-secret-key-0123456789abcdef"
SELLER_KEY = "sk-fake-seller-upstream-secret"
BUYER = "00000000-0000-4000-8000-00000000b001"
SUSPENDED = "00000000-0000-4000-8000-00000000b002"
SELLER = "00000000-0000-4000-8000-00000000c001"


def _model(model_id: str, caps: tuple[str, ...] = ("chat",), unit: PriceUnit = "token") -> Model:
    return Model(id=model_id, owned_by="test", input_price=1_000_000, output_price=2_000_000, context_length=8192,
                 capabilities=caps, price_unit=unit)


def _listing(listing_id: str, model: str, base_url: str, api_format: ApiFormat = "openai",
             caps: tuple[str, ...] = ("chat",)) -> Listing:
    return Listing(id=listing_id, seller_account_id=SELLER, provider="fake", model=model, upstream_model=model,
                   base_url=base_url, upstream_key=SELLER_KEY, ask_input=400_000, ask_output=1_200_000,
                   api_format=api_format, capabilities=caps)


# Models of every kind: (id, capabilities, price unit, listing api format)
KINDS_MODELS: tuple[tuple[str, tuple[str, ...], PriceUnit, ApiFormat], ...] = (
    ("test/claude", ("chat",), "token", "anthropic"),
    ("test/embed", ("embeddings",), "token", "openai"),
    ("test/tts", ("tts",), "character", "openai"),
    ("test/whisper", ("asr",), "audio_second", "openai"),
)


@dataclass
class Market:
    """Raw keys by purpose and the snapshot file the proxy serves."""

    path: Path
    fake_url: str
    keys: dict[str, str] = field(default_factory=dict)
    key_records: dict[str, Key] = field(default_factory=dict)

    def add_key(self, name: str, account: str = BUYER, **fields: object) -> str:
        raw = new_key()
        self.keys[name] = raw
        self.key_records[name] = Key(id=f"key-{name}", hash=hash_key(derive_hash_secret(SECRET), raw),
                                     account_id=account, **fields)  # type: ignore[arg-type]
        return raw

    def remove_key(self, name: str) -> None:
        self.key_records.pop(name)

    def snapshot(self) -> Snapshot:
        base = self.fake_url + "/v1"
        extra = {
            "test/broken": self.fake_url + "/k/status=500/v1",
            "test/throttled": self.fake_url + "/k/status=429,retry_after=7/v1",
            "test/rejecting": self.fake_url + "/k/status=400/v1",
            "test/closing": self.fake_url + "/k/close_after=2,tps=50/v1",
            "test/hang-headers": self.fake_url + "/k/hang=headers/v1",
            "test/hang-body": self.fake_url + "/k/hang=body/v1",
            "test/unreachable": "http://127.0.0.1:9/v1",
        }
        models = (*CHAT_MODELS, *(_model(m) for m in extra), _model("test/no-sellers"),
                  *(_model(m, caps, unit) for m, caps, unit, _ in KINDS_MODELS))
        listings = (*demo_listings(base, SELLER_KEY),
                    *(_listing(f"listing-{m.split('/')[1]}", m, url) for m, url in extra.items()),
                    *(_listing(f"listing-{m.split('/')[1]}", m, base, fmt, caps) for m, caps, _, fmt in KINDS_MODELS),
                    _listing("listing-claude-broken", "test/claude-broken", self.fake_url + "/k/status=500/v1",
                             "anthropic"),
                    _listing("listing-claude-closing", "test/claude-closing",
                             self.fake_url + "/k/close_after=3,tps=50/v1", "anthropic"))
        models = (*models, _model("test/claude-broken"), _model("test/claude-closing"))
        return Snapshot(
            version=f"v{time.monotonic_ns()}",
            created_at=int(time.time()),
            models=models,
            listings=listings,
            keys=tuple(self.key_records.values()),
            accounts=(
                # limited (rate headers on every answer), but far above what the suite sends
                Account(id=BUYER, plan="pro", trading_terms_accepted=True, rpm_limit=100_000,
                        tpm_limit=1_000_000_000),
                Account(id=SUSPENDED, plan="pro", status="suspended"),
                Account(id=SELLER),
            ),
            plans=PLANS,
        )

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(encode_snapshot_json(self.snapshot()))
        tmp.replace(self.path)  # atomic: a proxy never reads half a file


def standard_market(path: Path, fake_url: str) -> Market:
    market = Market(path=path, fake_url=fake_url)
    market.add_key("main")
    market.add_key("expired", expires_at=int(time.time()) - 60)
    market.add_key("revoked", status="disabled")
    market.add_key("suspended", account=SUSPENDED)
    market.add_key("office_only", ip_whitelist=("10.0.0.0/8",))
    market.add_key("blocked_local", ip_blacklist=("127.0.0.0/8",))
    market.add_key("chat_only", model_allowlist=("deepseek/deepseek-chat",))
    market.write()
    return market


def dumps(obj: object) -> bytes:
    return msgspec.json.encode(obj)
