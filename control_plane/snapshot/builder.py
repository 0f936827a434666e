"""Rows -> `wire.snapshot.Snapshot`. Pure: same rows, same snapshot, same bytes.

Every list is sorted (models, listings, accounts by id; plans by name; keys by hash, the
order `wire.publish.join` reassembles them in). Listings are routed only when the listing,
its pool key and its seller are all active, an admission probe passed, its contract is not
suspended and the upstream key decrypts; the rest are
left out and reported in `BuildResult.skipped` (ids and reasons only, never the key).
With `seal` (always, in the running control plane) a listing carries its upstream key only
sealed for proxies (`Listing.sealed_key`, `wire.sealing`), never in plaintext.
`Listing.trusted` is per pool key (`trusted`), never the provider slug's flag alone.
A routed listing carries the asks its pricing controls give (`snapshot.asks`,
`control_plane.pricing_controls`): those are what proxies rank, reserve and charge at.
`version` and `created_at` are left empty: the publisher derives them from content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import msgspec

from control_plane.pricing_controls import Effective
from control_plane.snapshot.asks import routed_asks
from control_plane.snapshot.rows import ListingRow, ProfileRow, SnapshotRows
from control_plane.trust import key_trusted
from wire.snapshot import (
    PRICE_UNITS,
    Account,
    AccountStatus,
    ApiFormat,
    FallbackOn,
    FeeProfile,
    Key,
    KeyStatus,
    Listing,
    ListingStats,
    Model,
    Plan,
    PrivacyMode,
    Profile,
    Snapshot,
    Strategy,
    check_consistent,
)

OpenKey = Callable[[bytes, str, str], str]  # (ciphertext, seller_id, pool_key_id) -> plaintext
SealKey = Callable[[str, str, str], bytes]  # (plaintext, listing_id, seller_id) -> sealed blob
_KEY_STATUSES: tuple[str, ...] = get_args(KeyStatus)
_ACCOUNT_STATUSES: tuple[str, ...] = get_args(AccountStatus)
_API_FORMATS: tuple[str, ...] = get_args(ApiFormat)
_STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
_FALLBACK_ON: tuple[FallbackOn, ...] = get_args(FallbackOn)


class BuildResult(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: Snapshot
    skipped: tuple[tuple[str, str], ...] = ()  # (listing id, reason)


def trusted(row: ListingRow) -> bool:
    """Per pool key, never per slug (`control_plane.trust`)."""
    return key_trusted(row.base_url, row.trusted, row.official_hosts, row.pool_key_trusted)


def _listing(row: ListingRow, upstream_key: str, seal: SealKey | None, asks: Effective) -> Listing:
    sealed = seal(upstream_key, row.id, row.seller_account_id) if seal is not None else b""
    return Listing(
        id=row.id,
        seller_account_id=row.seller_account_id,
        provider=row.provider,
        model=row.model,
        upstream_model=row.upstream_model,
        base_url=row.base_url.rstrip("/"),
        api_format="anthropic" if row.api_format == "anthropic" else "openai",
        upstream_key="" if sealed else upstream_key,
        sealed_key=sealed,
        ask_input=asks.ask_input,
        ask_output=asks.ask_output,
        ask_cached_input=asks.ask_cached_input,
        status="active",
        trusted=trusted(row),
        rpm_limit=row.rpm_limit,
        concurrency_limit=row.concurrency_limit,
        fee_profile_id=row.fee_profile_id,
        capabilities=row.capabilities,
    )


def _profile(row: ProfileRow) -> Profile:
    strategy: Strategy = next((s for s in _STRATEGIES if s == row.strategy), "balanced")
    privacy: PrivacyMode = "trusted_only" if row.privacy_mode == "trusted_only" else "any"
    return Profile(
        id=row.id, account_id=row.account_id, strategy=strategy, provider_only=row.provider_only,
        provider_ignore=row.provider_ignore, provider_order=row.provider_order,
        max_price_input=row.max_price_input, max_price_output=row.max_price_output, max_ttft_ms=row.max_ttft_ms,
        min_throughput_tps=row.min_throughput_tps, hard_max_ttft_ms=row.hard_max_ttft_ms,
        hard_min_throughput_tps=row.hard_min_throughput_tps, privacy_mode=privacy,
        fallback_enabled=row.fallback_enabled, max_attempts=row.max_attempts,
        fallback_on=tuple(f for f in _FALLBACK_ON if f in row.fallback_on), deadline_ms=row.deadline_ms or 0,
        hedge_ttft_ms=row.hedge_ttft_ms, weight_price=row.weight_price, weight_latency=row.weight_latency,
        weight_throughput=row.weight_throughput, weight_reliability=row.weight_reliability,
    )


def build_snapshot(rows: SnapshotRows, open_key: OpenKey, stats: tuple[ListingStats, ...] = (),
                   seal: SealKey | None = None) -> BuildResult:
    """The snapshot the proxies route from; raises `SnapshotInconsistent` if rows dangle.

    `stats` are the live listing figures aggregated from the proxies' reports (`wire.stats`);
    only those of routed listings are kept."""
    skipped: list[tuple[str, str]] = []
    listings: list[Listing] = []
    model_ids = {m.id for m in rows.models}
    routable: list[tuple[ListingRow, str]] = []
    for row in sorted(rows.listings, key=lambda r: r.id):
        reason = ""
        if row.status != "active":
            reason = "listing paused"
        elif not row.admitted:
            reason = "awaiting a passing admission probe"
        elif row.contract_state == "suspended":
            reason = "contract suspended"
        elif row.pool_key_status != "active":
            reason = "pool key disabled"
        elif row.seller_status != "active":
            reason = "seller suspended"
        elif row.model not in model_ids:
            reason = "model not in the active catalog"
        elif row.api_format not in _API_FORMATS:
            reason = f"unknown api format {row.api_format}"
        if reason:
            skipped.append((row.id, reason))
            continue
        try:
            upstream_key = open_key(row.key_ciphertext, row.seller_account_id, row.pool_key_id)
        except ValueError:
            skipped.append((row.id, "upstream key does not decrypt"))
            continue
        routable.append((row, upstream_key))
    asks = routed_asks([r for r, _ in routable], rows.models, rows.fee_profiles)  # pricing controls
    for row, upstream_key in routable:
        unmet = asks[row.id].unmet
        if unmet:
            skipped.append((row.id, unmet))
            continue
        listings.append(_listing(row, upstream_key, seal, asks[row.id]))

    snap = Snapshot(
        models=tuple(
            Model(
                id=m.id,
                owned_by=m.owned_by,
                input_price=m.input_price,
                output_price=m.output_price,
                context_length=m.context_length,
                capabilities=m.capabilities,
                price_unit=m.price_unit if m.price_unit in PRICE_UNITS else "token",  # type: ignore[arg-type]
            )
            for m in sorted(rows.models, key=lambda m: m.id)
        ),
        listings=tuple(listings),
        keys=tuple(
            Key(
                id=k.id,
                hash=k.hash,
                account_id=k.account_id,
                status="active" if k.status == "active" else "disabled",
                expires_at=k.expires_at,
                key_group=k.key_group,
                routing_profile_id=k.routing_profile_id,
                monthly_budget_micro_usd=k.monthly_budget_micro_usd,
                ip_whitelist=k.ip_whitelist,
                ip_blacklist=k.ip_blacklist,
                model_allowlist=k.model_allowlist,
                daily_request_limit=k.daily_request_limit,
                daily_token_quota=k.daily_token_quota,
            )
            for k in sorted(rows.keys, key=lambda k: k.hash)
            if k.status in _KEY_STATUSES
        ),
        accounts=tuple(
            Account(
                id=a.id,
                plan=a.plan,
                status="active" if a.status == "active" else "suspended",
                trading_terms_accepted=a.trading_terms_accepted,
                rpm_limit=a.rpm_limit,
                tpm_limit=a.tpm_limit,
                daily_request_limit=a.daily_request_limit,
                daily_token_quota=a.daily_token_quota,
            )
            for a in sorted(rows.accounts, key=lambda a: a.id)
            if a.status in _ACCOUNT_STATUSES
        ),
        plans=tuple(
            Plan(name=p.name, rpm_limit=p.rpm_limit, tpm_limit=p.tpm_limit)
            for p in sorted(rows.plans, key=lambda p: p.name)
        ),
        fee_profiles=tuple(
            FeeProfile(id=f.id, buyer_fee_bps=f.buyer_fee_bps, seller_fee_bps=f.seller_fee_bps)
            for f in sorted(rows.fee_profiles, key=lambda f: f.id)
        ),
        profiles=tuple(_profile(r) for r in sorted(rows.profiles, key=lambda r: r.id)),
        stats=tuple(s for s in stats if s.listing_id in {x.id for x in listings}),
    )
    check_consistent(snap)
    return BuildResult(snapshot=snap, skipped=tuple(skipped))
