"""builder.build_snapshot: rows -> Snapshot, pure and deterministic."""

from __future__ import annotations

import random

import msgspec
import pytest

from control_plane.crypto import SecretBox
from control_plane.snapshot.builder import build_snapshot
from control_plane.snapshot.redis_store import encode_sections
from control_plane.snapshot.rows import AccountRow, KeyRow, ListingRow, ModelRow, PlanRow, SnapshotRows
from wire.codec import decode_snapshot, encode_snapshot
from wire.publish import join
from wire.snapshot import SnapshotInconsistent

BOX = SecretBox(b"k" * 32)
SELLER = "00000000-0000-4000-8000-00000000000a"
BUYER = "00000000-0000-4000-8000-00000000000b"


def open_key(blob: bytes, seller: str, key_id: str) -> str:
    return BOX.open(blob, seller_id=seller, key_id=key_id)


def listing(n: int, **change: object) -> ListingRow:
    pool_key_id = f"pk-{n}"
    values: dict[str, object] = dict(
        id=f"00000000-0000-4000-8000-{n:012d}", seller_account_id=SELLER, pool_key_id=pool_key_id, provider="deepseek",
        trusted=True, model="deepseek/deepseek-chat", upstream_model="deepseek-chat",
        base_url="https://api.deepseek.com/v1/", api_format="openai",
        key_ciphertext=BOX.seal(f"sk-up-{n}", seller_id=SELLER, key_id=pool_key_id), ask_input=400_000,
        ask_output=1_200_000, ask_cached_input=None, status="active", pool_key_status="active", seller_status="active",
        rpm_limit=None, concurrency_limit=None, official_hosts=("api.deepseek.com",),
    )
    values.update(change)
    return ListingRow(**values)  # type: ignore[arg-type]


def key(n: int, **change: object) -> KeyRow:
    values: dict[str, object] = dict(
        id=f"key-{n}", hash=f"{n * 7919 % 65536:04x}" + "0" * 60, account_id=BUYER, status="active", expires_at=None,
        key_group="default", routing_profile_id=None, monthly_budget_micro_usd=None, ip_whitelist=(),
        ip_blacklist=(), model_allowlist=(),
    )
    values.update(change)
    return KeyRow(**values)  # type: ignore[arg-type]


def rows(listings: list[ListingRow], keys: list[KeyRow]) -> SnapshotRows:
    return SnapshotRows(
        plans=[PlanRow(name="pro", rpm_limit=300, tpm_limit=1_000_000), PlanRow(name="free", rpm_limit=10,
                                                                                 tpm_limit=40_000)],
        models=[ModelRow(id="deepseek/deepseek-chat", owned_by="deepseek", input_price=500_000, output_price=1_500_000,
                         context_length=128_000, capabilities=("chat",))],
        accounts=[AccountRow(id=BUYER, plan="free", status="active", trading_terms_accepted=True, rpm_limit=None,
                             tpm_limit=None),
                  AccountRow(id=SELLER, plan="pro", status="active", trading_terms_accepted=False, rpm_limit=5,
                             tpm_limit=None)],
        keys=keys, listings=listings,
    )


def test_same_rows_in_any_order_give_the_same_bytes() -> None:
    listings = [listing(i) for i in range(20)]
    keys = [key(i) for i in range(300)]
    first = build_snapshot(rows(listings, keys), open_key).snapshot
    random.seed(7)
    random.shuffle(listings)
    random.shuffle(keys)
    second = build_snapshot(rows(listings, keys), open_key).snapshot
    assert encode_snapshot(first) == encode_snapshot(second)
    assert [k.hash for k in first.keys] == sorted(k.hash for k in first.keys)
    assert [p.name for p in first.plans] == ["free", "pro"]


def test_listing_carries_the_decrypted_key_and_a_clean_base_url() -> None:
    snap = build_snapshot(rows([listing(1)], []), open_key).snapshot
    (item,) = snap.listings
    assert item.upstream_key == "sk-up-1" and item.base_url == "https://api.deepseek.com/v1"
    assert item.trusted and item.api_format == "openai" and item.ask_input == 400_000


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "paused"}, "listing paused"),
    ({"pool_key_status": "disabled"}, "pool key disabled"),
    ({"seller_status": "suspended"}, "seller suspended"),
    ({"model": "gone/model"}, "model not in the active catalog"),
    ({"seller_account_id": BUYER}, "upstream key does not decrypt"),
])
def test_unroutable_listings_are_left_out_with_a_reason(change: dict[str, object], reason: str) -> None:
    result = build_snapshot(rows([listing(1, **change), listing(2)], []), open_key)
    assert [x.id for x in result.snapshot.listings] == [listing(2).id]
    assert result.skipped == ((listing(1).id, reason),)


def test_key_fields_map_one_to_one() -> None:
    row = key(1, status="disabled", expires_at=1_900_000_000, key_group="prod", routing_profile_id="p",
              monthly_budget_micro_usd=5_000_000, ip_whitelist=("10.0.0.0/8",), ip_blacklist=("10.9.0.0/16",),
              model_allowlist=("deepseek/deepseek-chat",))
    (k,) = build_snapshot(rows([], [row]), open_key).snapshot.keys
    assert (k.status, k.expires_at, k.key_group, k.routing_profile_id, k.monthly_budget_micro_usd) == (
        "disabled", 1_900_000_000, "prod", "p", 5_000_000)
    assert (k.ip_whitelist, k.ip_blacklist, k.model_allowlist) == (("10.0.0.0/8",), ("10.9.0.0/16",),
                                                                   ("deepseek/deepseek-chat",))


def test_dangling_key_is_refused() -> None:
    with pytest.raises(SnapshotInconsistent):
        build_snapshot(rows([], [key(1, account_id="nobody")]), open_key)


def test_sections_round_trip_and_one_key_changes_one_section() -> None:
    keys = [key(i) for i in range(1000)]
    snap = build_snapshot(rows([listing(1)], keys), open_key).snapshot
    sections = encode_sections(snap)
    assert len(sections) == 257
    joined = join({name: decode_snapshot(body) for name, (_, body) in sections.items()}, "v", 0)
    assert encode_snapshot(joined) == encode_snapshot(msgspec.structs.replace(snap, version="v"))
    changed = build_snapshot(rows([listing(1)], [*keys[:-1], key(999, status="disabled")]), open_key).snapshot
    after = encode_sections(changed)
    diff = {n for n in sections if sections[n][0] != after[n][0]}
    assert diff == {f"keys/{key(999).hash[:2]}"}
