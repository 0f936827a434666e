from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.routing.policy import WEIGHTS, Policy
from proxy.routing.rank import EJECTED, PRICE, explain, rank
from proxy.routing.stats import Health, StatsBook
from proxy.routing.sticky import sticky_first
from tests.unit.proxy.routing.support import entry
from wire.snapshot import ListingStats

BOOK = StatsBook()
NOW = 1000.0
PROVIDERS = ("alpha", "beta", "gamma", "delta")

listing_st = st.builds(
    lambda i, pin, pout, prov, trusted: entry(f"l{i:03d}", pin, pout, prov, trusted),
    st.integers(0, 999), st.integers(0, 2_000_000), st.integers(0, 6_000_000), st.sampled_from(PROVIDERS),
    st.booleans(),
)
listings_st = st.lists(listing_st, max_size=30, unique_by=lambda e: e.id).map(tuple)
health_st = st.builds(Health, ttft_ms=st.floats(0, 5000), tps=st.floats(0, 300), error_rate=st.floats(0, 1),
                      samples=st.integers(0, 50), ejected_until=st.sampled_from([0.0, NOW - 1, NOW + 5]),
                      probe_at=st.sampled_from([0.0, NOW + 1]))
policy_st = st.builds(
    Policy,
    strategy=st.sampled_from(list(WEIGHTS)),
    weights=st.sampled_from(list(WEIGHTS.values())),
    max_price_input=st.none() | st.integers(0, 2_000_000),
    max_price_output=st.none() | st.integers(0, 6_000_000),
    hard_max_ttft_ms=st.none() | st.integers(1, 5000),
    hard_min_tps=st.none() | st.integers(1, 300),
    soft_max_ttft_ms=st.none() | st.integers(1, 5000),
    trusted_only=st.booleans(),
    provider_only=st.none() | st.frozensets(st.sampled_from(PROVIDERS)),
    provider_ignore=st.frozensets(st.sampled_from(PROVIDERS)),
    provider_order=st.lists(st.sampled_from(PROVIDERS), unique=True).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(listings=listings_st, policy=policy_st, data=st.data(), rand=st.floats(0, 1, exclude_max=True))
def test_hard_filters_hold_and_every_listing_is_accounted_for(listings: tuple, policy: Policy, data: st.DataObject,
                                                              rand: float) -> None:
    local = {e.id: data.draw(health_st) for e in listings if data.draw(st.booleans())}
    capped = frozenset(e.id for e in listings if data.draw(st.booleans()) and len(e.id) % 3 == 0)
    r = rank(listings, policy, local, {}, capped, NOW, BOOK.unavailable, rand)
    ids = [c.id for c in r.candidates] + [i for i, _ in r.excluded]
    assert sorted(ids) == sorted(e.id for e in listings)  # each listing exactly once
    for c in r.candidates:
        assert policy.max_price_input is None or c.ask_input <= policy.max_price_input
        assert policy.max_price_output is None or c.ask_output <= policy.max_price_output
        assert policy.provider_only is None or c.provider in policy.provider_only
        assert c.provider not in policy.provider_ignore
        assert c.trusted or not policy.trusted_only
        assert c.id not in capped
        h = local.get(c.id)
        if h is not None:
            assert not (h.ejected_until and BOOK.unavailable(h, NOW))
            if h.samples and policy.hard_max_ttft_ms is not None:
                assert h.ttft_ms <= policy.hard_max_ttft_ms
    again = rank(listings, policy, local, {}, capped, NOW, BOOK.unavailable, rand)
    assert again == r  # deterministic for the same inputs and draw


@settings(max_examples=100, deadline=None)
@given(listings=listings_st, session=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                                             max_size=40))
def test_sticky_choice_is_stable_and_independent_of_order(listings: tuple, session: str) -> None:
    if not listings:
        return
    first = sticky_first(listings, session)[0]
    assert sticky_first(tuple(reversed(listings)), session)[0].id == first.id
    rest = tuple(e for e in listings if e.id != first.id)
    if rest:  # it moves when its listing leaves, and only then
        moved = sticky_first(rest, session)[0]
        assert moved.id != first.id


def test_cost_first_prefers_price_reliability_first_prefers_health() -> None:
    cheap_flaky, dear_solid = entry("cheap", 100_000, 300_000), entry("dear", 150_000, 450_000)
    local = {"cheap": Health(ttft_ms=400, tps=50, error_rate=0.15, samples=20),
             "dear": Health(ttft_ms=400, tps=50, error_rate=0.0, samples=20)}
    cost = rank((cheap_flaky, dear_solid), Policy(weights=WEIGHTS["cost-first"]), local, {}, frozenset(), NOW,
                BOOK.unavailable)
    rel = rank((cheap_flaky, dear_solid), Policy(weights=WEIGHTS["reliability-first"]), local, {}, frozenset(),
               NOW, BOOK.unavailable)
    assert [c.id for c in cost.candidates] == ["cheap", "dear"]
    assert [c.id for c in rel.candidates] == ["dear", "cheap"]


def test_snapshot_stats_rank_a_fresh_proxy_and_provider_order_is_soft() -> None:
    fast, slow = entry("fast", provider="alpha"), entry("slow", provider="beta")
    prior = {"fast": ListingStats(listing_id="fast", ttft_ms=100, tps=80, samples=50),
             "slow": ListingStats(listing_id="slow", ttft_ms=3000, tps=10, samples=50)}
    r = rank((slow, fast), Policy(), {}, prior, frozenset(), NOW, BOOK.unavailable)
    assert [c.id for c in r.candidates] == ["fast", "slow"]
    ordered = rank((slow, fast), Policy(provider_order=("beta",)), {}, prior, frozenset(), NOW, BOOK.unavailable)
    assert [c.id for c in ordered.candidates] == ["slow", "fast"]


def test_exploration_is_bounded_and_promotes_an_unmeasured_listing() -> None:
    known, fresh = entry("known", 100_000, 100_000), entry("fresh", 900_000, 900_000)
    local = {"known": Health(ttft_ms=100, tps=80, samples=10)}
    picks = [rank((known, fresh), Policy(), local, {}, frozenset(), NOW, BOOK.unavailable, i / 1000).candidates[0].id
             for i in range(1000)]
    assert picks.count("fresh") == 20  # EXPLORE_RATE 2 %


def test_explain_names_counts_and_reasons() -> None:
    msg = explain("deepseek/deepseek-chat", 3, (("a", PRICE), ("b", PRICE), ("c", EJECTED)),
                  Policy(max_price_input=300_000))
    assert msg.startswith("No eligible listing: 3 listings for deepseek/deepseek-chat; 2 above the max input price 0.30")
    assert "1 ejected after upstream errors" in msg
