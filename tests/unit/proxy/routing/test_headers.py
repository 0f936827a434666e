from __future__ import annotations

import pytest

from proxy.errors import BadRequest
from proxy.routing.headers import NO_HEADERS, parse_route_headers
from proxy.routing.policy import profile_policy, refine
from wire.snapshot import Profile


def test_no_routing_header_is_the_shared_empty_value() -> None:
    assert parse_route_headers({b"authorization": b"x"}) is NO_HEADERS


def test_every_header_is_parsed() -> None:
    h = parse_route_headers({
        b"routing-strategy": b"market-only", b"x-max-price": b"0.30", b"x-max-ttft-ms": b"800",
        b"x-min-throughput-tps": b"40", b"x-hard-max-ttft-ms": b"2000", b"x-hard-min-throughput-tps": b"10",
        b"x-privacy-mode": b"trusted_only", b"x-provider-only": b"DeepSeek, together",
        b"x-provider-ignore": b"bad", b"x-provider-order": b"together,deepseek", b"x-session-id": b"chat-42",
    })
    assert h.max_price == 300_000 and h.max_ttft_ms == 800 and h.min_tps == 40
    assert h.hard_max_ttft_ms == 2000 and h.hard_min_tps == 10 and h.trusted_only
    assert h.provider_only == {"deepseek", "together"} and h.provider_ignore == {"bad"}
    assert h.provider_order == ("together", "deepseek") and h.session_id == "chat-42"


@pytest.mark.parametrize(("name", "value"), [
    (b"x-max-price", b"cheap"), (b"x-max-price", b"-1"), (b"x-max-price", b"1e3"), (b"x-max-price", b"NaN"),
    (b"x-max-ttft-ms", b"0"), (b"x-max-ttft-ms", b"1.5"), (b"x-min-throughput-tps", b"-3"),
    (b"x-hard-max-ttft-ms", b"soon"), (b"x-hard-min-throughput-tps", b"99999999999"),
    (b"x-privacy-mode", b"paranoid"), (b"x-provider-only", b"ok,Bad Slug"), (b"x-provider-ignore", b","),
    (b"x-provider-order", b"a" * 600), (b"x-session-id", b"has space"), (b"x-session-id", b"s" * 129),
    (b"routing-strategy", b"direct"), (b"x-session-id", "caf\u00e9".encode()),
])
def test_malformed_values_are_400s_naming_the_header(name: bytes, value: bytes) -> None:
    with pytest.raises(BadRequest) as info:
        parse_route_headers({name: value})
    assert name.decode().lower() in info.value.message.lower()


def test_headers_refine_but_never_loosen_the_profile() -> None:
    base = profile_policy(Profile(id="p", account_id="a", max_price_input=200_000, hard_max_ttft_ms=500,
                                  hard_min_throughput_tps=30, provider_only=("a", "b"), provider_ignore=("z",),
                                  privacy_mode="trusted_only"))
    loose = refine(base, parse_route_headers({
        b"x-max-price": b"9", b"x-hard-max-ttft-ms": b"9000", b"x-hard-min-throughput-tps": b"1",
        b"x-provider-only": b"b,c", b"x-provider-ignore": b"y", b"x-privacy-mode": b"any"}))
    assert loose.max_price_input == 200_000 and loose.hard_max_ttft_ms == 500 and loose.hard_min_tps == 30
    assert loose.provider_only == {"b"} and loose.provider_ignore == {"y", "z"} and loose.trusted_only
    tight = refine(base, parse_route_headers({b"x-max-price": b"0.1", b"x-hard-max-ttft-ms": b"100"}))
    assert tight.max_price_input == 100_000 and tight.hard_max_ttft_ms == 100


def test_fallback_disabled_means_one_attempt_and_custom_weights_apply() -> None:
    p = profile_policy(Profile(id="p", account_id="a", strategy="custom", fallback_enabled=False,
                               weight_price=100, weight_reliability=50))
    assert p.max_attempts == 1 and p.weights == (1.0, 0.0, 0.0, 0.5)
