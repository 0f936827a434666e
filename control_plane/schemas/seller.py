"""Seller bodies: providers, pool keys (`/v1/pool/*`) and listings (`/v1/market/listings`).
Asks are decimal USD per million tokens ("0.40"); the API never returns an upstream key."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from control_plane.schemas.listing_stats import ListingHealth

ApiFormat = Literal["openai", "anthropic"]
ListingStatus = Literal["active", "paused"]  # what a seller sets
# what the listing view shows: the seller's status, unless admission, the contract or a price
# change awaiting confirm-price says otherwise
ListingState = Literal["active", "paused", "pending_admission", "suspended", "price_review"]
PricingSource = Literal["fixed", "multiplier", "auto_follow"]


class ProviderView(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    api_format: ApiFormat
    default_base_url: str
    trusted: bool
    official_hosts: list[str] = msgspec.field(default_factory=list)  # hosts whose pool keys are trusted
    status: Literal["operational", "degraded", "no_supply"] | None = None  # control_plane.http.listing_stats_api
    listings: int | None = None  # routable listings market-wide
    live_error_rate: float | None = None  # sample-weighted over its listings' live reports (null: no reports)
    my_active_keys: int | None = None  # the caller's pool keys of this provider
    my_disabled_keys: int | None = None


class PoolKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: str
    base_url: str
    api_key: str
    api_format: ApiFormat | None = None
    name: str = ""


class PoolKeyPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    api_key: str  # the provider's key, re-entered (encrypted under the newest key)


class PoolKeyView(msgspec.Struct, kw_only=True):
    id: str
    provider: str
    name: str
    base_url: str
    api_format: ApiFormat
    key_hint: str
    status: Literal["active", "disabled", "undecryptable"]  # undecryptable: the platform's keys changed
    listing_count: int
    created_at: datetime
    status_reason: str | None = None  # why the key is not usable (status undecryptable)
    trusted: bool = False  # official host of a trusted provider, or marked by an operator (README "Trust")


class ListingCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pool_key_id: str
    model: str
    upstream_model: str | None = None
    ask_input: str
    ask_output: str
    ask_cached_input: str | None = None
    payout_floor: str | None = None  # USD per Mtok the seller receives at least (control_plane.pricing_controls)
    price_multiplier: str | None = None  # set: asks = catalog price x multiplier (or market x it, with auto_follow)
    auto_follow: bool = False  # asks track the market's reference price for the model
    rpm_limit: int | None = None
    concurrency_limit: int | None = None
    status: ListingStatus = "active"
    capabilities: list[str] | None = None  # routing kinds; default: the model's kinds (wire.snapshot.KINDS)


class ListingPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    upstream_model: str | msgspec.UnsetType = msgspec.UNSET
    ask_input: str | msgspec.UnsetType = msgspec.UNSET
    ask_output: str | msgspec.UnsetType = msgspec.UNSET
    ask_cached_input: str | None | msgspec.UnsetType = msgspec.UNSET
    payout_floor: str | None | msgspec.UnsetType = msgspec.UNSET
    price_multiplier: str | None | msgspec.UnsetType = msgspec.UNSET
    auto_follow: bool | msgspec.UnsetType = msgspec.UNSET
    rpm_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    concurrency_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    status: ListingStatus | msgspec.UnsetType = msgspec.UNSET
    capabilities: list[str] | msgspec.UnsetType = msgspec.UNSET


class ListingView(msgspec.Struct, kw_only=True):
    id: str
    pool_key_id: str
    provider: str
    model: str
    upstream_model: str
    ask_input: str
    ask_output: str
    ask_cached_input: str | None
    payout_floor: str | None
    price_multiplier: str | None
    auto_follow: bool
    rpm_limit: int | None
    concurrency_limit: int | None
    status: ListingState
    created_at: datetime
    updated_at: datetime
    capabilities: list[str] = msgspec.field(default_factory=lambda: ["chat"])
    not_routed: str | None = None  # why proxies cannot route this listing although it is active
    status_reason: str | None = None  # why pending_admission or suspended (README "Admission")
    admitted_at: datetime | None = None  # when its first admission probe passed
    contract_state: Literal["active", "degraded", "suspended"] | None = None  # its latest contract
    effective: ListingPricing | None = None  # the asks routed at now (pricing controls applied)
    pending_price: PendingPrice | None = None  # a change in price review
    price_review_reason: str | None = None
    health: ListingHealth | None = None  # last 24 h (GET /v1/market/listings/{id}/stats for more)


class PendingPrice(msgspec.Struct, kw_only=True):
    """A price change waiting for POST /v1/market/listings/{id}/confirm-price (the listing keeps
    routing at its current asks meanwhile)."""

    ask_input: str
    ask_output: str
    ask_cached_input: str | None
    payout_floor: str | None
    price_multiplier: str | None
    auto_follow: bool


class ListingPricing(msgspec.Struct, kw_only=True):
    """What the pricing controls make of the asks now: what buyers are routed and charged at."""

    source: PricingSource
    ask_input: str
    ask_output: str
    ask_cached_input: str | None
    floor_raised: bool  # the payout floor lifted an ask
    not_met: str | None = None  # the controls cannot be met: the listing is not routed
