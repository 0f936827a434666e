"""Buyer keys (`/api/keys`) and management keys (`/api/management-keys`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

MgmtScope = Literal["buyer", "seller", "full"]


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = ""
    key_group: str = "default"
    monthly_budget_cents: int | None = None
    routing_profile_id: str | None = None
    ip_whitelist: list[str] = []
    ip_blacklist: list[str] = []
    model_allowlist: list[str] = []
    expires_at: str | None = None
    daily_request_limit: int | None = None
    daily_token_quota: int | None = None


class KeyPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    key_group: str | msgspec.UnsetType = msgspec.UNSET
    monthly_budget_cents: int | None | msgspec.UnsetType = msgspec.UNSET
    routing_profile_id: str | None | msgspec.UnsetType = msgspec.UNSET
    ip_whitelist: list[str] | msgspec.UnsetType = msgspec.UNSET
    ip_blacklist: list[str] | msgspec.UnsetType = msgspec.UNSET
    model_allowlist: list[str] | msgspec.UnsetType = msgspec.UNSET
    expires_at: str | None | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "disabled"] | msgspec.UnsetType = msgspec.UNSET
    daily_request_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    daily_token_quota: int | None | msgspec.UnsetType = msgspec.UNSET


class KeyView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    key_hint: str
    key_group: str
    status: Literal["active", "disabled"]
    monthly_budget_cents: int | None
    routing_profile_id: str | None
    ip_whitelist: list[str]
    ip_blacklist: list[str]
    model_allowlist: list[str]
    expires_at: datetime | None
    daily_request_limit: int | None
    daily_token_quota: int | None
    created_at: datetime
    updated_at: datetime


class KeyCreated(KeyView, kw_only=True):
    key: str


class MgmtKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    mgmt_scope: MgmtScope
    expires_at: str | None = None


class MgmtKeyView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    mgmt_scope: MgmtScope
    key_hint: str
    expires_at: datetime | None
    created_at: datetime


class MgmtKeyCreated(MgmtKeyView, kw_only=True):
    key: str
