"""What the builder reads: plain rows as PostgreSQL returns them (one REPEATABLE READ view)."""

from __future__ import annotations

import msgspec


class PlanRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str
    rpm_limit: int | None
    tpm_limit: int | None


class ModelRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    owned_by: str
    input_price: int
    output_price: int
    context_length: int
    capabilities: tuple[str, ...]
    price_unit: str = "token"


class AccountRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    plan: str
    status: str
    trading_terms_accepted: bool
    rpm_limit: int | None
    tpm_limit: int | None
    daily_request_limit: int | None = None
    daily_token_quota: int | None = None


class KeyRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    hash: str
    account_id: str
    status: str  # active | disabled (revoked keys are not read)
    expires_at: int | None  # unix seconds
    key_group: str
    routing_profile_id: str | None  # explicit binding, else the account's default
    monthly_budget_micro_usd: int | None
    ip_whitelist: tuple[str, ...]
    ip_blacklist: tuple[str, ...]
    model_allowlist: tuple[str, ...]
    daily_request_limit: int | None = None
    daily_token_quota: int | None = None


class ListingRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    seller_account_id: str
    pool_key_id: str
    provider: str
    trusted: bool
    model: str
    upstream_model: str
    base_url: str
    api_format: str
    key_ciphertext: bytes
    ask_input: int
    ask_output: int
    ask_cached_input: int | None
    status: str  # listing status
    pool_key_status: str
    seller_status: str
    rpm_limit: int | None
    concurrency_limit: int | None
    capabilities: tuple[str, ...] = ("chat",)
    fee_profile_id: str | None = None
    admitted: bool = True  # an admission probe passed (README "Admission")
    contract_state: str = "active"  # the listing's latest contract: active | degraded | suspended
    official_hosts: tuple[str, ...] = ()  # the provider's official hosts (trust, README "Trust")
    pool_key_trusted: bool = False  # an operator marked the pool key trusted
    payout_floor: int | None = None  # pricing controls (control_plane.pricing_controls)
    price_multiplier_bps: int | None = None
    auto_follow: bool = False


class ProfileRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    account_id: str
    strategy: str
    provider_only: tuple[str, ...]
    provider_ignore: tuple[str, ...]
    provider_order: tuple[str, ...]
    max_price_input: int | None
    max_price_output: int | None
    max_ttft_ms: int | None
    min_throughput_tps: int | None
    hard_max_ttft_ms: int | None
    hard_min_throughput_tps: int | None
    privacy_mode: str
    fallback_enabled: bool
    max_attempts: int
    fallback_on: tuple[str, ...]
    deadline_ms: int | None
    hedge_ttft_ms: int | None
    weight_price: int | None
    weight_latency: int | None
    weight_throughput: int | None
    weight_reliability: int | None


class FeeProfileRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    buyer_fee_bps: int
    seller_fee_bps: int


class SnapshotRows(msgspec.Struct, frozen=True, kw_only=True):
    plans: list[PlanRow]
    models: list[ModelRow]
    accounts: list[AccountRow]
    keys: list[KeyRow]
    listings: list[ListingRow]
    fee_profiles: list[FeeProfileRow] = []
    profiles: list[ProfileRow] = []
