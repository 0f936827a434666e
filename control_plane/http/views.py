"""Database rows -> response bodies. The only place that decides what a response shows:
hashes, ciphertext and raw keys have no field here."""

from __future__ import annotations

import asyncpg

from control_plane.schemas.accounts import AccountView
from control_plane.schemas.keys import KeyView, MgmtKeyView
from control_plane.schemas.profiles import ProfileView
from control_plane.schemas.seller import ListingState, ListingView, PoolKeyView, ProviderView
from control_plane.trust import key_trusted
from wire.money import micros_to_usd


def _usd(micros: int | None) -> str | None:
    return None if micros is None else micros_to_usd(int(micros))


def multiplier_text(bps: int | None) -> str | None:
    if bps is None:
        return None
    whole, frac = divmod(int(bps), 10_000)
    digits = f"{frac:04d}".rstrip("0")
    return f"{whole}.{digits}" if digits else f"{whole}"


def account_view(row: asyncpg.Record) -> AccountView:
    balance = int(row["balance"])
    return AccountView(
        id=row["id"],
        email=row["email"],
        email_verified=row["email_verified_at"] is not None,
        plan=row["plan"],
        status=row["status"],
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        daily_request_limit=row["daily_request_limit"],
        daily_token_quota=row["daily_token_quota"],
        trading_terms_accepted=row["trading_terms_accepted_at"] is not None,
        trading_terms_accepted_at=row["trading_terms_accepted_at"],
        default_routing_profile_id=row["default_profile_id"],
        balance_micro_usd=balance,
        balance_usd=micros_to_usd(balance),
        created_at=row["created_at"],
    )


def key_fields(row: asyncpg.Record) -> dict[str, object]:
    budget = row["monthly_budget_micro_usd"]
    return {
        "id": row["id"],
        "name": row["name"],
        "key_hint": row["key_hint"],
        "key_group": row["key_group"],
        "status": row["status"],
        "monthly_budget_cents": None if budget is None else int(budget) // 10_000,
        "routing_profile_id": row["routing_profile_id"],
        "ip_whitelist": list(row["ip_whitelist"]),
        "ip_blacklist": list(row["ip_blacklist"]),
        "model_allowlist": list(row["model_allowlist"]),
        "expires_at": row["expires_at"],
        "daily_request_limit": row["daily_request_limit"],
        "daily_token_quota": row["daily_token_quota"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def key_view(row: asyncpg.Record) -> KeyView:
    return KeyView(**key_fields(row))  # type: ignore[arg-type]


def mgmt_key_view(row: asyncpg.Record) -> MgmtKeyView:
    return MgmtKeyView(
        id=row["id"],
        name=row["name"],
        mgmt_scope=row["mgmt_scope"],
        key_hint=row["key_hint"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


def profile_view(row: asyncpg.Record) -> ProfileView:
    return ProfileView(
        id=row["id"],
        name=row["name"],
        strategy=row["strategy"],
        is_default=row["is_default"],
        provider_only=list(row["provider_only"]),
        provider_ignore=list(row["provider_ignore"]),
        provider_order=list(row["provider_order"]),
        max_price_input=_usd(row["max_price_input"]),
        max_price_output=_usd(row["max_price_output"]),
        max_ttft_ms=row["max_ttft_ms"],
        min_throughput_tps=row["min_throughput_tps"],
        hard_max_ttft_ms=row["hard_max_ttft_ms"],
        hard_min_throughput_tps=row["hard_min_throughput_tps"],
        privacy_mode=row["privacy_mode"],
        fallback_enabled=row["fallback_enabled"],
        max_attempts=row["max_attempts"],
        fallback_on=list(row["fallback_on"]),
        deadline_ms=row["deadline_ms"],
        hedge_ttft_ms=row["hedge_ttft_ms"],
        weight_price=row["weight_price"],
        weight_latency=row["weight_latency"],
        weight_throughput=row["weight_throughput"],
        weight_reliability=row["weight_reliability"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def provider_view(row: asyncpg.Record) -> ProviderView:
    return ProviderView(
        slug=row["slug"],
        name=row["name"],
        api_format=row["api_format"],
        default_base_url=row["default_base_url"],
        trusted=row["trusted"],
        official_hosts=list(row["official_hosts"]),
    )


UNDECRYPTABLE = ("the upstream key does not decrypt with the platform's current keys (an operator changed "
                 "DF_SECRET_KEYS); re-enter it with PATCH /v1/pool/keys/{id}")


def pool_key_view(row: asyncpg.Record, decrypts: bool = True) -> PoolKeyView:
    return PoolKeyView(
        id=row["id"],
        provider=row["provider"],
        name=row["name"],
        base_url=row["base_url"],
        api_format=row["api_format"],
        key_hint=row["key_hint"],
        status=row["status"] if decrypts else "undecryptable",
        listing_count=int(row["listing_count"]),
        created_at=row["created_at"],
        status_reason=None if decrypts else UNDECRYPTABLE.format(id=row["id"]),
        trusted=key_trusted(row["base_url"], row["provider_trusted"], row["official_hosts"], row["operator_trusted"]),
    )


def listing_state(row: asyncpg.Record) -> tuple[ListingState, str | None]:
    """The status a seller sees: suspended (contract) > paused (the seller's) > pending_admission > active."""
    if row["contract_state"] == "suspended":
        return "suspended", "contract suspended: " + (row["contract_reason"] or "failed checks") + \
            "; fix the upstream, then POST /v1/market/contracts/{id}/reverify and /unsuspend"
    if row["status"] == "paused":
        return "paused", None
    if row["admitted_at"] is None:
        return "pending_admission", row["admission_reason"] or "waiting for the first admission probe"
    return "active", None


def listing_view(row: asyncpg.Record, key_decrypts: bool = True) -> ListingView:
    state, reason = listing_state(row)
    return ListingView(
        id=row["id"],
        pool_key_id=row["pool_key_id"],
        provider=row["provider"],
        model=row["model"],
        upstream_model=row["upstream_model"],
        ask_input=micros_to_usd(int(row["ask_input"])),
        ask_output=micros_to_usd(int(row["ask_output"])),
        ask_cached_input=_usd(row["ask_cached_input"]),
        payout_floor=_usd(row["payout_floor"]),
        price_multiplier=multiplier_text(row["price_multiplier_bps"]),
        auto_follow=row["auto_follow"],
        rpm_limit=row["rpm_limit"],
        concurrency_limit=row["concurrency_limit"],
        status="price_review" if state == "active" and row["price_review_reason"] else state,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        capabilities=list(row["capabilities"]),
        price_review_reason=row["price_review_reason"],
        not_routed=None if key_decrypts else "pool key undecryptable: " + UNDECRYPTABLE.format(id=row["pool_key_id"]),
        status_reason=reason,
        admitted_at=row["admitted_at"],
        contract_state=row["contract_state"],
    )
