"""Signup, verification, login, the caller's account and the operator API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

AccountStatus = Literal["active", "suspended"]


class SignupRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    password: str


class SignupResponse(msgspec.Struct, kw_only=True):
    id: str
    email: str
    email_verified: bool
    verification_sent: bool


class VerifyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: str


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    password: str


class LoginResponse(msgspec.Struct, kw_only=True):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    account_id: str


class AccountView(msgspec.Struct, kw_only=True):
    id: str
    email: str
    email_verified: bool
    plan: str
    status: AccountStatus
    rpm_limit: int | None
    tpm_limit: int | None
    daily_request_limit: int | None
    daily_token_quota: int | None
    trading_terms_accepted: bool
    trading_terms_accepted_at: datetime | None
    default_routing_profile_id: str | None
    balance_micro_usd: int
    balance_usd: str
    created_at: datetime


class AdminCreateAccount(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    password: str
    verified: bool = False
    plan: str = "free"
    credit_cents: int = 0
    trading_terms_accepted: bool = False


class AdminPatchAccount(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    plan: str | msgspec.UnsetType = msgspec.UNSET
    rpm_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    tpm_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    daily_request_limit: int | None | msgspec.UnsetType = msgspec.UNSET
    daily_token_quota: int | None | msgspec.UnsetType = msgspec.UNSET
    status: AccountStatus | msgspec.UnsetType = msgspec.UNSET
    verified: bool | msgspec.UnsetType = msgspec.UNSET
    trading_terms_accepted: bool | msgspec.UnsetType = msgspec.UNSET


class AdminCredit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount_cents: int
    reason: str


class LedgerEntryView(msgspec.Struct, kw_only=True):
    id: int
    account_id: str
    kind: str
    amount_micro_usd: int
    amount_usd: str
    reason: str
    created_at: datetime
    balance_micro_usd: int
    balance_usd: str
