"""Billing rules on reported and counted usage (the stream tap: test_stream_tap.py)."""

from __future__ import annotations

from proxy.billing.meter import Usage, bill


def test_reported_usage_is_capped() -> None:
    m = bill(Usage(prompt_tokens=10_000, completion_tokens=500), 3, 100, prompt_bound=200, cap=300)
    assert (m.prompt_tokens, m.completion_tokens, m.mismatch) == (200, 107, True)
    assert bill(None, 7, 4, 200, 300).estimated
