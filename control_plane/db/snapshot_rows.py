"""Read everything the snapshot needs in one REPEATABLE READ transaction (one consistent view)."""

from __future__ import annotations

import asyncpg
import msgspec

from control_plane.snapshot.rows import (
    AccountRow,
    FeeProfileRow,
    KeyRow,
    ListingRow,
    ModelRow,
    PlanRow,
    ProfileRow,
    SnapshotRows,
)

_PLANS = "SELECT name, rpm_limit, tpm_limit FROM plans"
_MODELS = """
SELECT id, owned_by, input_price, output_price, context_length, capabilities, price_unit FROM models WHERE active
"""
_ACCOUNTS = """
SELECT id::text, plan, status, trading_terms_accepted_at IS NOT NULL, rpm_limit, tpm_limit,
       daily_request_limit, daily_token_quota FROM accounts
"""
_KEYS = """
SELECT k.id::text, k.key_hash, k.account_id::text, k.status,
       extract(epoch FROM k.expires_at)::bigint, k.key_group,
       coalesce(k.routing_profile_id, d.id)::text, k.monthly_budget_micro_usd,
       k.ip_whitelist::text[], k.ip_blacklist::text[], k.model_allowlist, k.daily_request_limit, k.daily_token_quota
FROM api_keys k LEFT JOIN routing_profiles d ON d.account_id = k.account_id AND d.is_default
WHERE k.status <> 'revoked'
"""
_FEES = "SELECT id, buyer_fee_bps, seller_fee_bps FROM fee_profiles"
_LISTINGS = """
SELECT l.id::text, l.account_id::text, l.pool_key_id::text, k.provider, p.trusted, l.model, l.upstream_model,
       k.base_url, k.api_format, k.key_ciphertext, l.ask_input, l.ask_output, l.ask_cached_input,
       l.status, k.status, a.status, l.rpm_limit, l.concurrency_limit, l.capabilities, l.fee_profile_id,
       l.admitted_at IS NOT NULL,
       coalesce((SELECT c.state FROM contracts c WHERE c.listing_id = l.id ORDER BY c.created_at DESC LIMIT 1),
                'active'),
       p.official_hosts, k.trusted,
       l.payout_floor, l.price_multiplier_bps, l.auto_follow
FROM listings l
JOIN pool_keys k ON k.id = l.pool_key_id
JOIN providers p ON p.slug = k.provider
JOIN accounts a ON a.id = l.account_id
"""

_PROFILES = """
SELECT id::text AS id, account_id::text AS account_id, strategy, provider_only, provider_ignore, provider_order,
       max_price_input, max_price_output, max_ttft_ms, min_throughput_tps, hard_max_ttft_ms,
       hard_min_throughput_tps, privacy_mode, fallback_enabled, max_attempts, fallback_on, deadline_ms,
       hedge_ttft_ms, weight_price, weight_latency, weight_throughput, weight_reliability
FROM routing_profiles
"""
_TUPLES = ("provider_only", "provider_ignore", "provider_order", "fallback_on")


async def fetch_snapshot_rows(conn: asyncpg.Connection) -> SnapshotRows:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        plans = [PlanRow(name=r[0], rpm_limit=r[1], tpm_limit=r[2]) for r in await conn.fetch(_PLANS)]
        models = [
            ModelRow(
                id=r[0],
                owned_by=r[1],
                input_price=r[2],
                output_price=r[3],
                context_length=r[4],
                capabilities=tuple(r[5]),
                price_unit=r[6],
            )
            for r in await conn.fetch(_MODELS)
        ]
        accounts = [
            AccountRow(id=r[0], plan=r[1], status=r[2], trading_terms_accepted=r[3], rpm_limit=r[4], tpm_limit=r[5],
                       daily_request_limit=r[6], daily_token_quota=r[7])
            for r in await conn.fetch(_ACCOUNTS)
        ]
        keys = [
            KeyRow(
                id=r[0],
                hash=r[1],
                account_id=r[2],
                status=r[3],
                expires_at=r[4],
                key_group=r[5],
                routing_profile_id=r[6],
                monthly_budget_micro_usd=r[7],
                ip_whitelist=tuple(r[8]),
                ip_blacklist=tuple(r[9]),
                model_allowlist=tuple(r[10]),
                daily_request_limit=r[11],
                daily_token_quota=r[12],
            )
            for r in await conn.fetch(_KEYS)
        ]
        listings = [
            ListingRow(
                id=r[0],
                seller_account_id=r[1],
                pool_key_id=r[2],
                provider=r[3],
                trusted=r[4],
                model=r[5],
                upstream_model=r[6],
                base_url=r[7],
                api_format=r[8],
                key_ciphertext=bytes(r[9]),
                ask_input=r[10],
                ask_output=r[11],
                ask_cached_input=r[12],
                status=r[13],
                pool_key_status=r[14],
                seller_status=r[15],
                rpm_limit=r[16],
                concurrency_limit=r[17],
                capabilities=tuple(r[18]),
                fee_profile_id=r[19],
                admitted=r[20],
                contract_state=r[21],
                official_hosts=tuple(r[22]),
                pool_key_trusted=r[23],
                payout_floor=r[24],
                price_multiplier_bps=r[25],
                auto_follow=r[26],
            )
            for r in await conn.fetch(_LISTINGS)
        ]
        profiles = [
            msgspec.convert({k: tuple(v) if k in _TUPLES else v for k, v in dict(r).items()}, ProfileRow)
            for r in await conn.fetch(_PROFILES)
        ]
        fees = [FeeProfileRow(id=r[0], buyer_fee_bps=r[1], seller_fee_bps=r[2]) for r in await conn.fetch(_FEES)]
    return SnapshotRows(plans=plans, models=models, accounts=accounts, keys=keys, listings=listings,
                        profiles=profiles, fee_profiles=fees)
