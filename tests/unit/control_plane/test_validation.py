"""validation: table-driven checks of request values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from control_plane.errors import BadRequest
from control_plane.validation import (
    cents_to_micros,
    check_base_url,
    check_cidrs,
    check_email,
    check_key_group,
    parse_time,
    price_micros,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("given", "expected"), [
    (["10.0.0.0/8"], ["10.0.0.0/8"]), (["203.0.113.7"], ["203.0.113.7/32"]), (["2001:db8::/32"], ["2001:db8::/32"]),
    (["10.0.0.0/8", "10.0.0.0/8"], ["10.0.0.0/8"]), ([], []),
])
def test_cidrs_accepted(given: list[str], expected: list[str]) -> None:
    assert check_cidrs(given, "ip_whitelist") == expected


@pytest.mark.parametrize(("given", "where"), [
    (["10.0.0.0/33"], "ip_whitelist[0]"), (["300.1.1.1"], "ip_whitelist[0]"), (["10.0.0.1/24"], "host bits"),
    ([""], "ip_whitelist[0]"), ([" 10.0.0.0/8"], "ip_whitelist[0]"), (["fe80::1%eth0"], "ip_whitelist[0]"),
    (["1.1.1.1/32", "x"], "ip_whitelist[1]"), ([f"10.0.{i}.0/24" for i in range(101)], "at most"),
])
def test_cidrs_refused_with_the_entry_named(given: list[str], where: str) -> None:
    with pytest.raises(BadRequest, match=where.replace("[", r"\[").replace("]", r"\]")):
        check_cidrs(given, "ip_whitelist")


@pytest.mark.parametrize("group", ["default", "prod", "team_a-1", "x" * 64])
def test_key_group_accepted(group: str) -> None:
    assert check_key_group(group) == group


@pytest.mark.parametrize("group", ["", "Prod", "a b", "x" * 65, "ü"])
def test_key_group_refused(group: str) -> None:
    with pytest.raises(BadRequest, match="key_group"):
        check_key_group(group)


@pytest.mark.parametrize(("text", "micros"), [("0.40", 400_000), ("0", 0), ("12", 12_000_000), ("0.000001", 1)])
def test_prices(text: str, micros: int) -> None:
    assert price_micros(text, "ask_input") == micros


@pytest.mark.parametrize("text", ["-1", "1e3", "NaN", "0.0000001", "abc", "", "10001"])
def test_prices_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="ask_input"):
        price_micros(text, "ask_input")


def test_times() -> None:
    assert parse_time("2027-01-01T00:00:00Z", "expires_at", now=NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_time("2027-01-01T08:00:00+08:00", "expires_at", now=NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    for bad, word in [("2027-01-01T00:00:00", "time zone"), ("2025-01-01T00:00:00Z", "past"), ("soon", "ISO 8601")]:
        with pytest.raises(BadRequest, match=word):
            parse_time(bad, "expires_at", now=NOW)


def test_money_and_email() -> None:
    assert cents_to_micros(250, "credit_cents") == 2_500_000
    with pytest.raises(BadRequest, match="amount_cents"):
        cents_to_micros(0, "amount_cents", positive=True)
    with pytest.raises(BadRequest, match="x"):
        cents_to_micros(-1, "x")
    assert check_email(" a@b.co ") == "a@b.co"
    with pytest.raises(BadRequest, match="email"):
        check_email("a@b")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379", "https://[::1]/", "https://169.254.169.254/", "https://0x7f000001/", "https://127.1/",
    "https://2130706433/", "https://[::ffff:127.0.0.1]/", "https://10.0.0.1/", "https://172.16.0.1/",
    "https://192.168.0.1/", "https://100.64.0.1/", "https://0.0.0.0/", "https://localhost/", "https://a.localhost/",
    "https://svc.internal/", "https://intranet/", "https://[fe80::1]/", "https://[fc00::1]/",
])
def test_private_upstreams_refused(url: str) -> None:
    with pytest.raises(BadRequest, match="private"):
        check_base_url(url, allow_private=False)
    assert check_base_url(url, allow_private=True) == url.rstrip("/")


@pytest.mark.parametrize("url", ["ftp://x.com", "https://u:p@api.x.com", "https://api.x.com/?a=1", "http://api.x.com",
                                 "https://", "nonsense", "https://api.x.com:99999/"])
def test_malformed_upstreams_refused(url: str) -> None:
    with pytest.raises(BadRequest, match="base_url"):
        check_base_url(url, allow_private=False)


def test_public_upstream_normalised() -> None:
    assert check_base_url(" https://api.deepseek.com/v1/ ", allow_private=False) == "https://api.deepseek.com/v1"
    assert check_base_url("https://8.8.8.8/v1", allow_private=False) == "https://8.8.8.8/v1"
