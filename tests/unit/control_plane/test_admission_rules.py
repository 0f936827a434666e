"""Contract states, probe timing and per-pool-key trust (pure rules)."""

from __future__ import annotations

import random

from control_plane.admission.rules import after_check, next_probe_in
from control_plane.snapshot.builder import build_snapshot
from control_plane.trust import key_trusted
from tests.unit.control_plane.snapshot.test_builder import listing, open_key, rows


def test_first_failure_degrades_the_nth_suspends_a_pass_recovers_only_degraded() -> None:
    assert after_check("active", 0, False, 3) == ("degraded", 1)
    assert after_check("degraded", 1, False, 3) == ("degraded", 2)
    assert after_check("degraded", 2, False, 3) == ("suspended", 3)
    assert after_check("degraded", 2, True, 3) == ("active", 0)
    assert after_check("suspended", 3, True, 3) == ("suspended", 0)  # only unsuspend brings it back
    assert after_check("active", 0, True, 3) == ("active", 0)


def test_probe_back_off_doubles_within_jitter_and_caps() -> None:
    rng = random.Random(7)
    waits = [next_probe_in(False, n, 3600, 10, 900, rng) for n in (1, 2, 3, 10)]
    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24 and 32 <= waits[2] <= 48 and 720 <= waits[3] <= 1080
    assert 2880 <= next_probe_in(True, 0, 3600, 10, 900, rng) <= 4320


def test_trust_follows_the_host_of_the_pool_key_not_the_slug() -> None:
    official = ("api.deepseek.com",)
    assert key_trusted("https://api.deepseek.com/v1", True, official, False)
    assert key_trusted("https://API.DeepSeek.com:443/v1", True, official, False)
    assert not key_trusted("https://deepseek.example.com/v1", True, official, False)  # the seller's own host
    assert not key_trusted("https://api.deepseek.com.evil.io/v1", True, official, False)
    assert not key_trusted("https://api.deepseek.com/v1", False, official, False)  # provider not trusted
    assert key_trusted("http://127.0.0.1:9/v1", False, (), True)  # an operator's mark


def test_only_admitted_listings_of_unsuspended_contracts_are_routed_and_trust_is_per_key() -> None:
    own_host = listing(3, base_url="https://my-gpu.example.com/v1")
    result = build_snapshot(rows([listing(1), listing(2, admitted=False), own_host,
                                  listing(4, contract_state="suspended"), listing(5, contract_state="degraded")], []),
                            open_key)
    routed = {x.id[-1]: x for x in result.snapshot.listings}
    assert set(routed) == {"1", "3", "5"}
    assert routed["1"].trusted and not routed["3"].trusted
    assert dict(result.skipped) == {listing(2).id: "awaiting a passing admission probe",
                                    listing(4).id: "contract suspended"}
