"""Sealed upstream keys: the control plane seals, a proxy with the key opens, nobody else."""

from __future__ import annotations

import msgspec

from control_plane.snapshot.seal import Sealer
from proxy.snapshot.unseal import Unsealer
from wire.snapshot import Listing, ListingStats, Model, Snapshot

OLD, NEW = b"o" * 32, b"n" * 32
UPSTREAM = "sk-upstream-secret-0123456789"


def _snapshot(sealer: Sealer, *ids: str) -> Snapshot:
    listings = tuple(Listing(id=i, seller_account_id="seller", provider="p", model="m", upstream_model="m",
                             base_url="https://x/v1", sealed_key=sealer.seal(UPSTREAM, i, "seller"), ask_input=1,
                             ask_output=1) for i in ids)
    return Snapshot(models=(Model(id="m", owned_by="o", input_price=1, output_price=1),), listings=listings,
                    stats=tuple(ListingStats(listing_id=i) for i in ids))


def test_a_proxy_with_the_key_opens_each_listing() -> None:
    snap = _snapshot(Sealer(NEW), "a", "b")
    assert UPSTREAM.encode() not in msgspec.msgpack.encode(snap)
    opened, dropped = Unsealer((NEW, OLD)).open_catalog(snap)
    assert dropped == () and [x.upstream_key for x in opened.listings] == [UPSTREAM, UPSTREAM]
    assert all(x.sealed_key == b"" for x in opened.listings)


def test_sealing_is_deterministic_so_versions_stay_content_addressed() -> None:
    assert _snapshot(Sealer(NEW), "a") == _snapshot(Sealer(NEW), "a")
    assert _snapshot(Sealer(NEW), "a") != _snapshot(Sealer(OLD), "a")


def test_without_the_key_or_moved_to_another_listing_it_does_not_open() -> None:
    snap = _snapshot(Sealer(NEW), "a", "b")
    opened, dropped = Unsealer((OLD,)).open_catalog(snap)
    assert dropped == ("a", "b") and opened.listings == () and opened.stats == ()
    a, b = snap.listings
    swapped = msgspec.structs.replace(snap, listings=(msgspec.structs.replace(a, sealed_key=b.sealed_key), b))
    opened, dropped = Unsealer((NEW,)).open_catalog(swapped)
    assert dropped == ("a",) and [x.id for x in opened.listings] == ["b"]
    tampered = bytearray(b.sealed_key)
    tampered[-1] ^= 1
    bad = msgspec.structs.replace(snap, listings=(msgspec.structs.replace(b, sealed_key=bytes(tampered)),))
    assert Unsealer((NEW,)).open_catalog(bad)[1] == ("b",)


def test_a_changed_upstream_key_is_sealed_anew_and_opened_anew() -> None:
    sealer, unsealer = Sealer(NEW), Unsealer((NEW,))
    first = sealer.seal(UPSTREAM, "a", "seller")
    sealer.end_build()
    assert sealer.seal(UPSTREAM, "a", "seller") == first  # reused
    sealer.end_build()
    changed = sealer.seal(UPSTREAM + "-rotated", "a", "seller")
    assert changed != first
    base = _snapshot(Sealer(NEW), "a")
    for blob, want in ((first, UPSTREAM), (changed, UPSTREAM + "-rotated"), (first, UPSTREAM)):
        snap = msgspec.structs.replace(base, listings=(msgspec.structs.replace(base.listings[0], sealed_key=blob),))
        assert unsealer.open_catalog(snap)[0].listings[0].upstream_key == want
