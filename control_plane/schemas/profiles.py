"""Routing profiles (`/api/routing/profiles`). Prices are decimal USD per million tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Strategy = Literal["cost-first", "balanced", "reliability-first", "quality-first", "custom"]
PrivacyMode = Literal["any", "trusted_only"]


class ProfileCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    strategy: Strategy = "balanced"
    is_default: bool = False
    provider_only: list[str] = []
    provider_ignore: list[str] = []
    provider_order: list[str] = []
    max_price_input: str | None = None
    max_price_output: str | None = None
    max_ttft_ms: int | None = None
    min_throughput_tps: int | None = None
    hard_max_ttft_ms: int | None = None
    hard_min_throughput_tps: int | None = None
    privacy_mode: PrivacyMode = "any"
    fallback_enabled: bool = True
    max_attempts: int = 3


class ProfilePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    strategy: Strategy | msgspec.UnsetType = msgspec.UNSET
    is_default: bool | msgspec.UnsetType = msgspec.UNSET
    provider_only: list[str] | msgspec.UnsetType = msgspec.UNSET
    provider_ignore: list[str] | msgspec.UnsetType = msgspec.UNSET
    provider_order: list[str] | msgspec.UnsetType = msgspec.UNSET
    max_price_input: str | None | msgspec.UnsetType = msgspec.UNSET
    max_price_output: str | None | msgspec.UnsetType = msgspec.UNSET
    max_ttft_ms: int | None | msgspec.UnsetType = msgspec.UNSET
    min_throughput_tps: int | None | msgspec.UnsetType = msgspec.UNSET
    hard_max_ttft_ms: int | None | msgspec.UnsetType = msgspec.UNSET
    hard_min_throughput_tps: int | None | msgspec.UnsetType = msgspec.UNSET
    privacy_mode: PrivacyMode | msgspec.UnsetType = msgspec.UNSET
    fallback_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    max_attempts: int | msgspec.UnsetType = msgspec.UNSET


class ProfileView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    strategy: Strategy
    is_default: bool
    provider_only: list[str]
    provider_ignore: list[str]
    provider_order: list[str]
    max_price_input: str | None
    max_price_output: str | None
    max_ttft_ms: int | None
    min_throughput_tps: int | None
    hard_max_ttft_ms: int | None
    hard_min_throughput_tps: int | None
    privacy_mode: PrivacyMode
    fallback_enabled: bool
    max_attempts: int
    created_at: datetime
    updated_at: datetime
