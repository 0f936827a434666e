"""Routing profiles (`/api/routing/profiles`). Prices are decimal USD per million tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Strategy = Literal["cost-first", "balanced", "reliability-first", "quality-first", "custom"]
PrivacyMode = Literal["any", "trusted_only"]
FallbackOn = Literal["connect", "timeout", "5xx", "429"]


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
    fallback_on: list[FallbackOn] = msgspec.field(default_factory=lambda: ["connect", "timeout", "5xx", "429"])
    deadline_ms: int | None = None  # all attempts of one request; null = the proxy's default
    hedge_ttft_ms: int | None = None  # opt-in hedging: start a 2nd listing after this TTFT
    weight_price: int | None = None  # 0..100, strategy "custom"
    weight_latency: int | None = None
    weight_throughput: int | None = None
    weight_reliability: int | None = None


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
    fallback_on: list[FallbackOn] | msgspec.UnsetType = msgspec.UNSET
    deadline_ms: int | None | msgspec.UnsetType = msgspec.UNSET
    hedge_ttft_ms: int | None | msgspec.UnsetType = msgspec.UNSET
    weight_price: int | None | msgspec.UnsetType = msgspec.UNSET
    weight_latency: int | None | msgspec.UnsetType = msgspec.UNSET
    weight_throughput: int | None | msgspec.UnsetType = msgspec.UNSET
    weight_reliability: int | None | msgspec.UnsetType = msgspec.UNSET


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
    fallback_on: list[FallbackOn]
    deadline_ms: int | None
    hedge_ttft_ms: int | None
    weight_price: int | None
    weight_latency: int | None
    weight_throughput: int | None
    weight_reliability: int | None
    created_at: datetime
    updated_at: datetime
