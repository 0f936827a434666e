"""Login tokens: HS256 JWTs whose signing key is derived from DF_SECRET_KEY."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import jwt

_ALGORITHM = "HS256"
_AUDIENCE = "dragonfly-control-plane"


class TokenError(ValueError):
    """A login token that is malformed, forged or expired (message says which)."""


def derive_jwt_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"dragonfly/jwt/v1", hashlib.sha256).digest()


def issue_token(jwt_key: bytes, account_id: str, *, now: int, ttl_s: int) -> str:
    claims = {"sub": account_id, "iat": now, "exp": now + ttl_s, "aud": _AUDIENCE}
    return jwt.encode(claims, jwt_key, algorithm=_ALGORITHM)


def read_token(jwt_key: bytes, token: str) -> str:
    """The account id a valid token names."""
    try:
        claims = jwt.decode(
            token, jwt_key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["sub", "exp", "iat"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the login token has expired; log in again with POST /api/auth/login") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the login token is not valid; log in again with POST /api/auth/login") from exc
    sub = claims.get("sub")
    try:
        return str(uuid.UUID(str(sub)))
    except ValueError as exc:
        raise TokenError("the login token names no account; log in again") from exc
