"""Admission bodies: probe runs and contracts (`/v1/market/listings/:id/probe*`, `/v1/market/contracts/*`)
and the operator's trust settings (`/api/admin/providers`, `/api/admin/pool-keys`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class ProbeCheckView(msgspec.Struct, kw_only=True):
    name: str  # auth | answers | streaming | usage | model_name | fingerprint | kind | runner
    passed: bool
    detail: str = ""


class ProbeRunView(msgspec.Struct, kw_only=True):
    id: str
    listing_id: str
    contract_id: str | None
    trigger: Literal["admission", "manual", "schedule", "reverify", "proxy_reports"]
    started_at: datetime
    finished_at: datetime | None
    outcome: Literal["passed", "failed"] | None  # None while it runs
    checks: list[ProbeCheckView]
    ttft_ms: float | None
    tokens_per_s: float | None


class Baseline(msgspec.Struct, kw_only=True):
    ttft_ms: float | None = None
    tokens_per_s: float | None = None


class ContractTerms(msgspec.Struct, kw_only=True):
    """What the listing promised when admitted (asks in USD per million tokens)."""

    model: str
    upstream_model: str
    provider: str | None = None
    ask_input: str | None = None
    ask_output: str | None = None
    ask_cached_input: str | None = None
    rpm_limit: int | None = None
    concurrency_limit: int | None = None
    baseline: Baseline | None = None  # the admission probe's measurements; None when admitted unprobed


class ContractView(msgspec.Struct, kw_only=True):
    id: str
    listing_id: str
    state: Literal["active", "degraded", "suspended"]
    terms: ContractTerms
    strikes: int  # failed checks since the last passing one
    state_reason: str
    created_at: datetime
    updated_at: datetime


class ProviderPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    official_hosts: list[str] | msgspec.UnsetType = msgspec.UNSET
    trusted: bool | msgspec.UnsetType = msgspec.UNSET


class PoolKeyTrust(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    trusted: bool


class PoolKeyTrustView(msgspec.Struct, kw_only=True):
    id: str
    trusted: bool  # the operator's mark (official hosts make a key trusted without it)
