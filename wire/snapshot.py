"""The routing snapshot: everything the proxy needs to answer a request.

Immutable and versioned as a whole. The control plane builds it (sorted, so the
same content gives the same bytes), the proxy decodes it and swaps it in
atomically. Schema evolution follows msgspec's rules: new fields are appended
with defaults, an existing field's type never changes, and no struct here
forbids unknown fields, so proxies and control planes can roll out separately.

Times are Unix seconds (int). Money follows `wire.money`: prices are integer
micro-USD per million tokens.
"""

from __future__ import annotations

from typing import Literal

import msgspec

SCHEMA_VERSION = 1

ApiFormat = Literal["openai", "anthropic"]
KeyStatus = Literal["active", "disabled"]
AccountStatus = Literal["active", "suspended"]
ListingStatus = Literal["active", "paused"]

# What a model or listing can serve. The proxy routes an endpoint only to listings that carry its
# capability: chat (/v1/chat/completions and /v1/messages), embeddings, tts (/v1/audio/speech),
# asr (/v1/audio/transcriptions). reasoning, image_generation and video_generation are kinds a
# listing may already declare; no endpoint routes to the last two yet. Catalog models may carry
# other, descriptive tags too ("code", "agents"); only these kinds are routing capabilities.
KINDS: tuple[str, ...] = ("chat", "embeddings", "tts", "asr", "reasoning", "image_generation", "video_generation")

# The unit a model's prices (and its listings' asks) count, per million units (micro-USD each):
#   token        chat (input and output tokens) and embeddings (input tokens; output price 0)
#   character    tts: characters of `input` (the input price; output price 0)
#   audio_second asr: seconds of uploaded audio, rounded up per request (the input price), plus
#                output tokens of the transcript when the upstream reports them (output price)
PriceUnit = Literal["token", "character", "audio_second"]
PRICE_UNITS: tuple[str, ...] = ("token", "character", "audio_second")


class Model(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A catalog model buyers can ask for (its public id and reference prices)."""

    id: str  # "deepseek/deepseek-chat"
    owned_by: str  # "deepseek"
    input_price: int  # reference price, micro-USD per Mtok
    output_price: int
    context_length: int = 0
    capabilities: tuple[str, ...] = ("chat",)
    price_unit: PriceUnit = "token"  # what input_price/output_price count (see PRICE_UNITS)
    max_output_tokens: int = 0  # completion tokens per choice when a request sets no cap (0 = context_length)
    aliases: tuple[str, ...] = ()  # other names buyers may send as `model` (unique across the catalog)


class Listing(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A seller's offer: one upstream key serving one model at an ask price."""

    id: str
    seller_account_id: str
    provider: str  # provider slug, e.g. "deepseek"
    model: str  # catalog model id it serves
    upstream_model: str  # the model name sent upstream
    base_url: str  # e.g. "https://api.deepseek.com/v1" (no trailing slash)
    api_format: ApiFormat = "openai"
    upstream_key: str = ""  # the seller's upstream credential; never logged, never returned
    ask_input: int  # micro-USD per Mtok
    ask_output: int
    ask_cached_input: int | None = None
    status: ListingStatus = "active"
    trusted: bool = False  # provider flagged trusted (privacy mode)
    rpm_limit: int | None = None
    concurrency_limit: int | None = None
    fee_profile_id: str | None = None
    capabilities: tuple[str, ...] = ("chat",)  # routing kinds this listing serves (see KINDS)
    sealed_key: bytes = b""  # the upstream key sealed for proxies (wire.sealing); set instead of upstream_key


class Key(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A buyer key, by its keyed hash (`wire.keys.hash_key`)."""

    id: str
    hash: str
    account_id: str
    status: KeyStatus = "active"
    expires_at: int | None = None
    key_group: str = "default"
    routing_profile_id: str | None = None
    monthly_budget_micro_usd: int | None = None
    ip_whitelist: tuple[str, ...] = ()
    ip_blacklist: tuple[str, ...] = ()
    model_allowlist: tuple[str, ...] = ()
    daily_request_limit: int | None = None  # requests per UTC day (None = unlimited)
    daily_token_quota: int | None = None  # tokens per UTC day


class Account(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    plan: str = "free"
    status: AccountStatus = "active"
    trading_terms_accepted: bool = False
    rpm_limit: int | None = None  # per-account overrides of the plan
    tpm_limit: int | None = None
    daily_request_limit: int | None = None  # requests per UTC day, over all the account's keys
    daily_token_quota: int | None = None  # tokens per UTC day


class Plan(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str
    rpm_limit: int | None  # None = unlimited
    tpm_limit: int | None


Strategy = Literal["cost-first", "balanced", "reliability-first", "quality-first", "custom"]
PrivacyMode = Literal["any", "trusted_only"]
FallbackOn = Literal["connect", "timeout", "5xx", "429"]
DEFAULT_FALLBACK_ON: tuple[FallbackOn, ...] = ("connect", "timeout", "5xx", "429")


class Profile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A buyer's routing profile (keys carry the effective `routing_profile_id`).

    Prices are micro-USD per Mtok (hard ceilings); `max_ttft_ms`/`min_throughput_tps` are soft
    targets (ranking only), the `hard_*` ones filters. Weights (0..100) are used by `custom`
    and otherwise come from the strategy. `hedge_ttft_ms` opts into hedging; `deadline_ms`
    bounds all attempts of one request (0 = the proxy's default).
    """

    id: str
    account_id: str
    strategy: Strategy = "balanced"
    provider_only: tuple[str, ...] = ()
    provider_ignore: tuple[str, ...] = ()
    provider_order: tuple[str, ...] = ()
    max_price_input: int | None = None
    max_price_output: int | None = None
    max_ttft_ms: int | None = None
    min_throughput_tps: int | None = None
    hard_max_ttft_ms: int | None = None
    hard_min_throughput_tps: int | None = None
    privacy_mode: PrivacyMode = "any"
    fallback_enabled: bool = True
    max_attempts: int = 3
    fallback_on: tuple[FallbackOn, ...] = DEFAULT_FALLBACK_ON
    deadline_ms: int = 0
    hedge_ttft_ms: int | None = None
    weight_price: int | None = None
    weight_latency: int | None = None
    weight_throughput: int | None = None
    weight_reliability: int | None = None


class ListingStats(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Live figures of one listing, aggregated by the control plane from every proxy's reports.

    Not money: floats are fine. `samples` is the number of requests the figures rest on.
    """

    listing_id: str
    ttft_ms: float = 0.0
    tps: float = 0.0
    error_rate: float = 0.0
    samples: int = 0


class FeeProfile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The platform fee applied to a listing's trades, in basis points (1/100 of a percent).

    The buyer pays ask x (1 + buyer_fee_bps/10000), the seller earns ask x (1 - seller_fee_bps/10000);
    `wire.pricing` states the rounding.
    """

    id: str
    buyer_fee_bps: int = 0
    seller_fee_bps: int = 0


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One consistent, immutable view of the market. `version` is opaque."""

    schema: int = SCHEMA_VERSION
    version: str = ""
    created_at: int = 0
    models: tuple[Model, ...] = ()
    listings: tuple[Listing, ...] = ()
    keys: tuple[Key, ...] = ()
    accounts: tuple[Account, ...] = ()
    plans: tuple[Plan, ...] = ()
    profiles: tuple[Profile, ...] = ()  # appended by issue 4 (market routing)
    stats: tuple[ListingStats, ...] = ()  # live listing figures, aggregated across proxies
    fee_profiles: tuple[FeeProfile, ...] = ()  # appended (issue 5); listings name one by fee_profile_id


class SnapshotInconsistent(ValueError):
    """A snapshot that references something it does not contain."""


def check_consistent(snap: Snapshot) -> None:
    """Refuse a snapshot whose references dangle or whose ids repeat.

    Both sides call it: the control plane before publishing, the proxy before swapping.
    """
    model_ids = {m.id for m in snap.models}
    account_ids = {a.id for a in snap.accounts}
    plan_names = {p.name for p in snap.plans}
    problems: list[str] = []
    for label, ids in (
        ("model", [m.id for m in snap.models]),
        ("listing", [x.id for x in snap.listings]),
        ("key", [k.id for k in snap.keys]),
        ("key hash", [k.hash for k in snap.keys]),
        ("account", [a.id for a in snap.accounts]),
        ("profile", [p.id for p in snap.profiles]),
    ):
        if len(ids) != len(set(ids)):
            problems.append(f"duplicate {label} ids")
    for listing in snap.listings:
        if listing.model not in model_ids:
            problems.append(f"listing {listing.id} serves unknown model {listing.model}")
        if listing.ask_input < 0 or listing.ask_output < 0:
            problems.append(f"listing {listing.id} has a negative ask")
    for key in snap.keys:
        if key.account_id not in account_ids:
            problems.append(f"key {key.id} belongs to unknown account {key.account_id}")
    if plan_names:
        for account in snap.accounts:
            if account.plan not in plan_names:
                problems.append(f"account {account.id} is on unknown plan {account.plan}")
    if problems:
        raise SnapshotInconsistent("; ".join(problems[:10]))
