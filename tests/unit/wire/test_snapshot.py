import msgspec
import pytest

from wire.codec import decode_snapshot, encode_snapshot, encode_snapshot_json
from wire.publish import CATALOG, KEY_SHARDS, join, overall_version, shard_of, split
from wire.snapshot import Account, Key, Listing, Model, Snapshot, SnapshotInconsistent, check_consistent


def snap(n_keys: int = 10) -> Snapshot:
    return Snapshot(
        version="v1", created_at=1,
        models=(Model(id="a/b", owned_by="a", input_price=1, output_price=2),),
        listings=(Listing(id="l1", seller_account_id="s", provider="p", model="a/b", upstream_model="b",
                          base_url="http://x/v1", ask_input=1, ask_output=2),),
        keys=tuple(Key(id=f"k{i}", hash=f"{i:064x}"[::-1], account_id="acc") for i in range(n_keys)),
        accounts=(Account(id="acc"), Account(id="s")),
    )


def test_round_trips_through_msgpack_and_json() -> None:
    s = snap()
    assert decode_snapshot(encode_snapshot(s)) == s
    assert decode_snapshot(encode_snapshot_json(s)) == s


def test_unknown_fields_are_ignored_for_rolling_upgrades() -> None:
    body = msgspec.json.encode({**msgspec.to_builtins(snap()), "future_section": [1, 2]})
    assert decode_snapshot(body).version == "v1"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"listings": (Listing(id="l", seller_account_id="s", provider="p", model="zzz", upstream_model="z",
                               base_url="u", ask_input=1, ask_output=1),)}, "unknown model"),
        ({"keys": (Key(id="k", hash="h", account_id="ghost"),)}, "unknown account"),
        ({"keys": (Key(id="k", hash="h", account_id="acc"), Key(id="k", hash="i", account_id="acc"))}, "duplicate key"),
    ],
)
def test_dangling_references_are_refused(change: dict[str, object], problem: str) -> None:
    with pytest.raises(SnapshotInconsistent, match=problem):
        check_consistent(msgspec.structs.replace(snap(), **change))


def test_split_and_join_are_inverse_and_shard_by_hash_prefix() -> None:
    s = snap(500)
    parts = split(s)
    assert len(parts) == KEY_SHARDS + 1 and parts[CATALOG].keys == ()
    for name, part in parts.items():
        assert all(shard_of(k.hash) == name for k in part.keys)
    joined = join(parts, version="v2", created_at=5)
    assert sorted(joined.keys, key=lambda k: k.id) == sorted(s.keys, key=lambda k: k.id)
    assert joined.listings == s.listings and joined.version == "v2"


def test_overall_version_depends_on_every_section() -> None:
    base = {"catalog": "a", "keys/00": "b"}
    assert overall_version(base) == overall_version(dict(reversed(list(base.items()))))
    assert overall_version(base) != overall_version({**base, "keys/00": "c"})
