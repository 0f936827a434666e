"""Who is calling and what they may do: JWT callers may do everything on their account;
management keys carry one scope (`buyer`, `seller` or `full`)."""

from __future__ import annotations

from typing import Literal

import msgspec

from control_plane.errors import Forbidden

Scope = Literal["buyer", "seller", "full"]
CallerKind = Literal["jwt", "management_key"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str
    kind: CallerKind
    scope: Scope = "full"
    email_verified: bool = False


def require_scope(principal: Principal, needed: Literal["buyer", "seller"]) -> None:
    """Refuse a management key whose scope does not cover `needed`."""
    if principal.scope == "full" or principal.scope == needed:
        return
    raise Forbidden(
        f"this management key has scope '{principal.scope}'; this endpoint needs scope '{needed}' "
        f"or 'full' — create a key with that scope or use a login token"
    )


def require_jwt(principal: Principal, what: str) -> None:
    if principal.kind != "jwt":
        raise Forbidden(f"{what} needs a login token (POST /api/auth/login), not a management key")


def require_verified(principal: Principal, what: str) -> None:
    if not principal.email_verified:
        raise Forbidden(
            f"{what} is locked until your email is verified: open the link in the verification mail "
            f"or POST /api/auth/verify with its token"
        )
