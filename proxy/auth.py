"""Authenticate a buyer key against the in-memory index (pure: no I/O, no awaits).

Keys are looked up by their keyed hash (`wire.keys.hash_key`); the raw key is never
stored or logged. A malformed key is told apart from an unknown one by its checksum.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from proxy.errors import Forbidden, Unauthorized
from proxy.snapshot.index import KeyEntry, Network, RoutingIndex
from wire.keys import KEY_LEN, KeyShape, check_shape, hash_key

_BEARER = "bearer "


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header, or a 401 saying what is wrong."""
    if not authorization:
        raise Unauthorized("Missing API key. Send your key as 'Authorization: Bearer sk-df-…'.")
    if authorization[:7].lower() != _BEARER:
        raise Unauthorized("The Authorization header must have the form 'Bearer sk-df-…'.")
    return authorization[7:].strip()


def api_key(x_api_key: bytes | None, authorization: bytes | None) -> str:
    """The key of an Anthropic-style request: `x-api-key`, else `Authorization: Bearer`."""
    if x_api_key:
        return x_api_key.decode("latin-1").strip()
    if not authorization:
        raise Unauthorized("Missing API key. Send your key as 'x-api-key: sk-df-…' or 'Authorization: Bearer sk-df-…'.")
    return bearer_token(authorization.decode("latin-1"))


def authenticate(token: str, index: RoutingIndex, hash_secret: bytes, now: float) -> KeyEntry:
    """The key's entry if the key is valid and usable now; otherwise Unauthorized/Forbidden."""
    entry = index.keys.get(hash_key(hash_secret, token))
    if entry is None:
        shape = check_shape(token)
        if shape is KeyShape.WRONG_PREFIX:
            raise Unauthorized("Invalid API key: Dragonfly keys start with 'sk-df-'.")
        if shape is KeyShape.TRUNCATED:
            raise Unauthorized(
                f"Invalid API key: it looks truncated ({len(token)} of {KEY_LEN} characters). "
                "Copy the whole key."
            )
        if shape is KeyShape.BAD_CHECKSUM:
            raise Unauthorized("Invalid API key: it looks mistyped or truncated (checksum mismatch). Copy it again.")
        raise Unauthorized("Unknown API key: it is well-formed but not active. It may have been deleted; "
                           "create a new key with POST /api/keys.")
    key = entry.key
    if key.status != "active":
        raise Unauthorized("This API key has been revoked. Create a new key with POST /api/keys.")
    if key.expires_at is not None and now >= key.expires_at:
        when = datetime.fromtimestamp(key.expires_at, UTC).isoformat().replace("+00:00", "Z")
        raise Unauthorized(f"This API key expired at {when}. Create a new key or extend expires_at.")
    account = index.accounts.get(key.account_id)
    if account is None or account.status != "active":
        raise Forbidden("The account that owns this key is suspended. Contact the operator.")
    return entry


def client_ip(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The caller's address: the peer, or the last untrusted hop of X-Forwarded-For
    when (and only when) the peer is a configured trusted proxy."""
    if not forwarded_for or not trusted or not _in_any(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _in_any(hop, trusted):
            return hop
    return peer


def _in_any(ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def _parses(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def check_access(entry: KeyEntry, ip: str, model: str) -> None:
    """Enforce the key's IP allow/deny lists and model allowlist (403 naming the rule). Both lists
    fail closed: an address that does not parse is outside every allow list and inside every
    deny list."""
    if entry.deny and (_in_any(ip, entry.deny) or not _parses(ip)):
        raise Forbidden(f"Requests from {ip[:64]!r} are blocked for this key by its ip_blacklist.")
    if entry.allow and not _in_any(ip, entry.allow):
        raise Forbidden(f"Requests from {ip} are not in this key's ip_whitelist.")
    if entry.models and model not in entry.models:
        allowed = ", ".join(sorted(entry.models))
        raise Forbidden(f"This key may not use model '{model}' (model_allowlist: {allowed}).")
