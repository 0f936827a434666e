"""Bodies of the operator catalog API: models (with aliases), providers and fee profiles.

Prices are decimal USD strings per million units in and out (`wire.money`), stored as micro-USD.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from control_plane.schemas.accounts import AccountView
from control_plane.schemas.payments import PaymentView


class ModelView(msgspec.Struct, kw_only=True):
    id: str  # "owner/name"
    owned_by: str  # a provider slug
    input_price: str  # reference price, USD per million `price_unit`s
    output_price: str
    price_unit: str  # token | character | audio_second
    context_length: int
    max_output_tokens: int | None  # per choice when a request sets no cap; null = the context length
    capabilities: list[str]
    aliases: list[str]
    active: bool
    probe_expect: ProbeExpect  # the admission probe's substitution fingerprint (README "Admission")


class ProbeExpect(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """What an honest upstream of the model answers the fixed probe prompt with: `prompt_tokens`
    `[lo, hi]` (the `fingerprint` check; null = not checked) and `model_names` it may report besides
    the listing's `upstream_model` (the `model_name` check)."""

    prompt_tokens: list[int] | None = None
    model_names: list[str] = msgspec.field(default_factory=list)


class CreateModel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: str
    owned_by: str
    input_price: str
    output_price: str
    context_length: int
    price_unit: str = "token"
    max_output_tokens: int | None = None
    capabilities: list[str] = msgspec.field(default_factory=lambda: ["chat"])
    aliases: list[str] = msgspec.field(default_factory=list)
    active: bool = True


class PatchModel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    owned_by: str | msgspec.UnsetType = msgspec.UNSET
    input_price: str | msgspec.UnsetType = msgspec.UNSET
    output_price: str | msgspec.UnsetType = msgspec.UNSET
    price_unit: str | msgspec.UnsetType = msgspec.UNSET
    context_length: int | msgspec.UnsetType = msgspec.UNSET
    max_output_tokens: int | None | msgspec.UnsetType = msgspec.UNSET
    capabilities: list[str] | msgspec.UnsetType = msgspec.UNSET
    aliases: list[str] | msgspec.UnsetType = msgspec.UNSET  # replaces the whole list
    active: bool | msgspec.UnsetType = msgspec.UNSET
    probe_expect: ProbeExpect | msgspec.UnsetType = msgspec.UNSET  # replaces the whole fingerprint


class AdminProviderView(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    api_format: str  # openai | anthropic
    default_base_url: str
    official_hosts: list[str]
    trusted: bool


class CreateProvider(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    slug: str
    name: str
    api_format: str = "openai"
    default_base_url: str = ""
    official_hosts: list[str] = msgspec.field(default_factory=list)
    trusted: bool = False


class FeeProfileView(msgspec.Struct, kw_only=True):
    id: str
    buyer_fee_bps: int  # the buyer pays ask x (1 + bps / 10,000)
    seller_fee_bps: int  # the seller earns ask x (1 - bps / 10,000)


class CreateFeeProfile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: str
    buyer_fee_bps: int = 0
    seller_fee_bps: int = 0


class AssignFeeProfile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    fee_profile_id: str | None  # accounts: null = back to each listing's own profile


class AccountFeeProfileView(msgspec.Struct, kw_only=True):
    account_id: str
    fee_profile_id: str | None


class AdminListingView(msgspec.Struct, kw_only=True):
    id: str
    account_id: str  # the seller
    seller_email: str
    provider: str
    model: str
    upstream_model: str
    ask_input: str
    ask_output: str
    status: str
    fee_profile_id: str
    created_at: datetime


class AccountPage(msgspec.Struct, kw_only=True):
    data: list[AccountView]
    next_offset: int | None  # pass as ?offset= for the next page


class AdminPaymentView(msgspec.Struct, kw_only=True):
    account_id: str
    payment: PaymentView


class PaymentPage(msgspec.Struct, kw_only=True):
    data: list[AdminPaymentView]
    next_offset: int | None


class ListingPage(msgspec.Struct, kw_only=True):
    data: list[AdminListingView]
    next_offset: int | None


class Adjustment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount_cents: int  # positive; a debit takes it from the balance, a refund adds it
    reason: str  # required, shown in the buyer's transactions
