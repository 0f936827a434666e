"""Pure parts of top-ups and earnings: TRON addresses, amounts, tx ids, the dev watcher, buckets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from control_plane.billing.chain import DevChainWatcher, OpenIntent
from control_plane.billing.payments import check_amount_cents, check_tx_hash, parse_usdt
from control_plane.billing.tron import AddressError, b58check_decode, check_address, dev_address
from control_plane.errors import BadRequest
from control_plane.http.earnings_api import align


def test_tron_addresses() -> None:
    assert check_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")  # the USDT contract's address
    a, b = dev_address(b"k", "p1"), dev_address(b"k", "p2")
    assert a != b and a == dev_address(b"k", "p1") and check_address(a) == a
    assert b58check_decode(a)[:1] == b"\x41" and len(b58check_decode(a)) == 21
    for bad in ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "1" * 34,
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60"):
        with pytest.raises(AddressError):
            check_address(bad)


def test_amounts_and_tx_ids() -> None:
    assert check_amount_cents(100) == 100 and check_amount_cents(10_000_000) == 10_000_000
    for cents in (0, 99, 10_000_001, -1):
        with pytest.raises(BadRequest, match="amount_cents"):
            check_amount_cents(cents)
    assert parse_usdt("10") == 10_000_000 and parse_usdt("0.000001") == 1 and parse_usdt(" 9.5 ") == 9_500_000
    for text in ("0", "-1", "1e3", "abc", "1.0000001", "NaN"):
        with pytest.raises(BadRequest, match="amount_usdt"):
            parse_usdt(text)
    h = "AB" * 32
    assert check_tx_hash(h) == h.lower() == check_tx_hash("0x" + h)
    for text in ("ab" * 31, "zz" * 32, ""):
        with pytest.raises(BadRequest, match="tx_hash"):
            check_tx_hash(text)


def test_dev_watcher_pays_in_full_after_the_delay() -> None:
    intents = [OpenIntent(payment_id=f"p{i}", address="T", amount_usdt_micro=1_000_000 * (i + 1),
                          created_at_s=100.0 + i, expires_at_s=2000.0) for i in range(3)]
    found = asyncio.run(DevChainWatcher(pay_after_s=3, clock=lambda: 104.0).find_deposits(intents))
    assert [(d.payment_id, d.amount_usdt_micro) for d in found] == [("p0", 1_000_000), ("p1", 2_000_000)]
    assert all(len(d.tx_hash) == 64 for d in found)


def test_bucket_alignment() -> None:
    t = datetime(2025, 3, 10, 5, 30, 1, tzinfo=UTC)
    assert align(t, "hour") == datetime(2025, 3, 10, 5, tzinfo=UTC)
    assert align(t, "hour", up=True) == datetime(2025, 3, 10, 6, tzinfo=UTC)
    assert align(t, "day") == datetime(2025, 3, 10, tzinfo=UTC)
    assert align(t, "day", up=True) == datetime(2025, 3, 11, tzinfo=UTC)
    edge = datetime(2025, 3, 10, tzinfo=UTC)
    assert align(edge, "day", up=True) == edge == align(edge, "hour", up=True)
