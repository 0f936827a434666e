"""Login tokens: HS256 JWTs signed with a key derived from the newest master secret.

Verification tries the key of every master secret in DF_SECRET_KEYS (newest first), so
tokens signed before a rotation keep working until their secret is removed. Proxies never
hold these keys (`wire.secret_keys`).
"""

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


def _decode(jwt_keys: tuple[bytes, ...], token: str) -> dict[str, object]:
    for key in jwt_keys[:-1]:
        try:
            return _decode_one(key, token)
        except jwt.InvalidSignatureError:
            continue
    return _decode_one(jwt_keys[-1], token)


def _decode_one(key: bytes, token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["sub", "exp", "iat"]}
    )
    return claims


def issue_token(jwt_key: bytes, account_id: str, *, now: int, ttl_s: int) -> str:
    claims = {"sub": account_id, "iat": now, "exp": now + ttl_s, "aud": _AUDIENCE}
    return jwt.encode(claims, jwt_key, algorithm=_ALGORITHM)


def read_token(jwt_keys: tuple[bytes, ...], token: str) -> str:
    """The account id a token signed with any of `jwt_keys` names."""
    try:
        claims = _decode(jwt_keys, token)
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the login token has expired; log in again with POST /api/auth/login") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the login token is not valid; log in again with POST /api/auth/login") from exc
    sub = claims.get("sub")
    try:
        return str(uuid.UUID(str(sub)))
    except ValueError as exc:
        raise TokenError("the login token names no account; log in again") from exc
