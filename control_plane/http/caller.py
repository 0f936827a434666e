"""Who is calling: the operator token, a login JWT, or a management key (`sk-df-…`)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Literal

from blacksheep import Request

from control_plane.auth.principal import Principal, require_scope
from control_plane.auth.tokens import TokenError, read_token
from control_plane.db import accounts as db_accounts
from control_plane.db import keys as db_keys
from control_plane.errors import Forbidden, Unauthorized
from control_plane.http.context import Services, request_ip
from wire.keys import PREFIX, KeyShape, check_shape, hash_key

# public: nobody; admin: DF_ADMIN_TOKEN; jwt: login token only; account: JWT or any
# management key; buyer / seller: JWT or a management key with that scope (or full).
# inference: as buyer, or a buyer key itself (`/v1/generation` is called with the inference key).
Access = Literal["public", "admin", "jwt", "account", "buyer", "seller", "inference"]
_HOW = "send Authorization: Bearer <login token from POST /api/auth/login, or a management key>"


def bearer(request: Request) -> str:
    header = (request.get_first_header(b"authorization") or b"").decode("latin-1").strip()
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized(f"missing credentials: {_HOW}")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(f"the Authorization header is not a Bearer token: {_HOW}")
    return token.strip()


async def check_admin(services: Services, request: Request) -> None:
    """The operator token, or 401; an IP with too many wrong tokens this minute gets 429 before
    its token is even compared (so guessing cannot go on behind the 429s)."""
    expected = services.settings.admin_token
    if not expected:
        raise Forbidden("the operator API is disabled: start the control plane with DF_ADMIN_TOKEN set")
    limiter, ip = services.ip_limiter, request_ip(services, request)
    if limiter is not None:
        await limiter.refuse_if_spent("admin", ip)
    try:
        token = bearer(request)
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise Unauthorized("wrong operator token: send Authorization: Bearer $DF_ADMIN_TOKEN")
    except Unauthorized:
        if limiter is not None:
            await limiter.check("admin", ip)
        raise


async def _from_buyer_key(services: Services, token: str) -> Principal | None:
    async with services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT k.account_id::text AS account_id, k.expires_at, a.status, a.email_verified_at"
            " FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1 AND k.status = 'active'",
            hash_key(services.hash_secret, token))
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC)):
        return None
    if row["status"] != "active":
        raise Forbidden("this account is suspended; contact the operator")
    return Principal(account_id=row["account_id"], kind="management_key", scope="buyer",
                     email_verified=row["email_verified_at"] is not None)


async def _from_management_key(services: Services, token: str, access: Access = "account") -> Principal:
    shape = check_shape(token)
    if shape is KeyShape.TRUNCATED:
        raise Unauthorized("the management key looks truncated; copy the whole key (sk-df- plus 38 characters)")
    if shape is not KeyShape.OK:
        raise Unauthorized("the management key looks mistyped (checksum mismatch); copy it again")
    async with services.pool.acquire() as conn:
        row = await db_keys.mgmt_caller(conn, hash_key(services.hash_secret, token))
    if row is None and access == "inference" and (buyer := await _from_buyer_key(services, token)) is not None:
        return buyer
    if row is None:
        raise Unauthorized(
            "unknown management key (revoked, or a buyer key: buyer keys are for /v1 inference); "
            "create one with POST /api/management-keys"
        )
    if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
        raise Unauthorized("this management key has expired; create a new one with POST /api/management-keys")
    if row["status"] != "active":
        raise Forbidden("this account is suspended; contact the operator")
    return Principal(
        account_id=row["account_id"],
        kind="management_key",
        scope=row["mgmt_scope"],
        email_verified=row["email_verified_at"] is not None,
    )


async def _from_jwt(services: Services, token: str) -> Principal:
    try:
        account_id = read_token(services.jwt_keys, token)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    async with services.pool.acquire() as conn:
        row = await db_accounts.caller(conn, account_id)
    if row is None:
        raise Unauthorized("the login token names an account that no longer exists; sign up again")
    if row["status"] != "active":
        raise Forbidden("this account is suspended; contact the operator")
    return Principal(
        account_id=account_id, kind="jwt", scope="full", email_verified=row["email_verified_at"] is not None
    )


async def authenticate(services: Services, request: Request, access: Access) -> Principal | None:
    """The caller allowed on a route with this access rule, or an Unauthorized/Forbidden error."""
    if access == "public":
        return None
    if access == "admin":
        await check_admin(services, request)
        return None
    token = bearer(request)
    if token.startswith(PREFIX):
        principal = await _from_management_key(services, token, access)
    elif token.count(".") == 2:
        principal = await _from_jwt(services, token)
    else:
        raise Unauthorized(f"the bearer token is neither a login token nor a management key: {_HOW}")
    if access == "jwt" and principal.kind != "jwt":
        raise Forbidden("this endpoint needs a login token (POST /api/auth/login), not a management key")
    if access in ("buyer", "seller"):
        require_scope(principal, access)
    if access == "inference":
        require_scope(principal, "buyer")
    return principal
