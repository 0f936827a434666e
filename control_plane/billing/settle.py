"""Settle one usage event in PostgreSQL (the caller's transaction): the generation row, the
journal and the key's month-to-date spend, or nothing at all when it was settled before.

The charge is recomputed here from the event's tokens and admission-time asks with
`wire.pricing.charge` (the same function the proxy reserved with), so the ledger never
trusts a money figure from the wire. Idempotent: `generations.request_id` is the key.

Caps (README "Billing": "Charge caps"), enforced here whatever the proxy sent:
- the charge is at most the event's `reserved_micro_usd` (`wire.usage.charge_of`);
- the charge never takes the buyer's balance below zero: it is at most the balance left
  (read under a row lock, so concurrent settlements of one buyer see each other).
A capped charge keeps its payout/fee split (`wire.pricing.capped`); the micro-USD cut off is
recorded in `generations.capped_micro_usd` (shown by `/v1/generation`) and logged as a warning
naming the request and listing; the consumer counts it in `dragonfly_settlement_capped_total`
(operators find the requests with `generations WHERE capped_micro_usd > 0`, indexed by listing).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from control_plane.db.ledger import NIL, post_journal
from wire.pricing import Charge, capped
from wire.usage import UsageEvent, charge_of, uncapped_charge_of

log = logging.getLogger("control_plane.billing")

_INSERT = """
INSERT INTO generations (request_id, account_id, key_id, listing_id, seller_account_id, model, provider,
    upstream_model, status, prompt_tokens, completion_tokens, cached_tokens, usage_estimated,
    reported_completion_tokens, ask_input, ask_output, ask_cached_input, buyer_fee_bps, seller_fee_bps,
    fee_profile_id, cost_micro_usd, seller_payout_micro_usd, platform_fee_micro_usd, reserved_micro_usd, month,
    ttft_ms, latency_ms, offline, started_at, journal_id, capped_micro_usd)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
    $24, $25, $26, $27, $28, $29, $30, $31)
ON CONFLICT (request_id) DO NOTHING RETURNING request_id
"""


async def settle_event(conn: asyncpg.Connection, ev: UsageEvent) -> Charge | None:
    """The charge when this call settled the event (cost, payout and fee as posted); None for a
    replay (already settled)."""
    full = uncapped_charge_of(ev)
    c = charge_of(ev)
    a = ev.asks
    if c.cost > 0:
        left = await conn.fetchval("SELECT balance FROM ledger_balances WHERE book = 'buyer' AND account_id = $1"
                                   " FOR UPDATE", ev.account_id)
        c = capped(c, max(int(left or 0), 0), a)
    journal: int | None = None
    if c.cost > 0:  # the journal's unique request id makes a replay stop here
        journal = await post_journal(
            conn, "usage", ev.account_id,
            [("buyer", ev.account_id, -c.cost), ("seller", ev.seller_account_id, c.seller_payout),
             ("platform_fee", NIL, c.platform_fee)],
            reason=f"{ev.model} via listing {ev.listing_id}", request_id=ev.request_id,
        )
        if journal is None:
            return None
    billed = ev.status != "failed"
    inserted = await conn.fetchval(
        _INSERT, ev.request_id, ev.account_id, ev.key_id, ev.listing_id, ev.seller_account_id, ev.model,
        ev.provider, ev.upstream_model, ev.status, ev.prompt_tokens if billed else 0,
        ev.completion_tokens if billed else 0, ev.cached_tokens if billed else 0,
        ev.usage_estimated, ev.reported_completion_tokens, a.ask_input, a.ask_output, a.ask_cached_input,
        a.buyer_fee_bps, a.seller_fee_bps, ev.fee_profile_id, c.cost, c.seller_payout, c.platform_fee,
        ev.reserved_micro_usd, ev.month, ev.ttft_ms, ev.latency_ms, ev.offline,
        datetime.fromtimestamp(ev.started_at_ms / 1000, UTC), journal, full.cost - c.cost,
    )
    if inserted is None:
        return None
    if c.cost < full.cost:
        log.warning("charge capped: request %s listing %s charged %d of %d micro-USD (reserved %d)",
                    ev.request_id, ev.listing_id, c.cost, full.cost, ev.reserved_micro_usd)
    if c.cost > 0:
        await conn.execute(
            "INSERT INTO key_spend (key_id, month, spent) VALUES ($1, $2, $3)"
            " ON CONFLICT (key_id, month) DO UPDATE SET spent = key_spend.spent + excluded.spent",
            ev.key_id, ev.month, c.cost,
        )
    return c
