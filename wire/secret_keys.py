"""Which secret each process holds, and how purpose keys are derived (pure, stdlib only).

The control plane holds the master secrets, `DF_SECRET_KEYS` (comma-separated, newest
first; `DF_SECRET_KEY` is the one-key form). From each master secret S, one-way:

| purpose key          | derivation                             | held by                  |
|----------------------|----------------------------------------|--------------------------|
| JWT signing          | HMAC-SHA256(S, "dragonfly/jwt/v1")     | control plane            |
| pool-key encryption  | HMAC-SHA256(S, "dragonfly/pool-key-encryption/v1") unless DF_ENCRYPTION_KEYS | control plane |
| snapshot sealing     | HMAC-SHA256(S, "dragonfly/snapshot-seal/v1") unless DF_SEAL_KEYS | control plane, proxies |
| buyer-key hash pepper| HMAC-SHA256(S, "dragonfly/key-hash/v1") unless DF_KEY_HASH_SECRET | control plane, proxies |
| request-id MAC       | HMAC-SHA256(pepper, "dragonfly/request-id/v2") | control plane, proxies |

Proxies get only the sealing keys and the pepper (`proxy_env`, what `dragonfly keys
proxy-env` prints), never S: HMAC is one-way, so nothing a proxy holds yields the JWT or
pool-key encryption key. The pepper is not rotated (buyer keys are stored only as its
hashes), so with several master secrets it must be pinned with DF_KEY_HASH_SECRET.
Sealing keys rotate with the master secrets: encrypt with the first, open with any.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


class KeyConfigError(ValueError):
    """A DF_* key variable that cannot be used as given (the message says how to fix it)."""


def purpose_key(master: str, label: str) -> bytes:
    return hmac.new(master.encode(), f"dragonfly/{label}/v1".encode(), hashlib.sha256).digest()


def request_id_secret(hash_secret: bytes) -> bytes:
    return hmac.new(hash_secret, b"dragonfly/request-id/v2", hashlib.sha256).digest()


def master_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """DF_SECRET_KEYS (newest first) or DF_SECRET_KEY; () when neither is set."""
    listed = tuple(s.strip() for s in env.get("DF_SECRET_KEYS", "").split(",") if s.strip())
    if listed:
        if len(set(listed)) != len(listed):
            raise KeyConfigError("DF_SECRET_KEYS lists a key twice; list each key once, newest first")
        return listed
    single = env.get("DF_SECRET_KEY", "").strip()
    return (single,) if single else ()


def hex_keys(env: Mapping[str, str], name: str) -> tuple[bytes, ...]:
    """A comma-separated list of 32-byte keys written as 64 hex characters each."""
    out: list[bytes] = []
    for item in (s.strip() for s in env.get(name, "").split(",")):
        if not item:
            continue
        try:
            key = bytes.fromhex(item)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise KeyConfigError(f"{name}: each key must be 64 hex characters (32 bytes), comma-separated")
        out.append(key)
    return tuple(out)


def hash_secret(env: Mapping[str, str], masters: tuple[str, ...]) -> bytes:
    """The buyer-key hash pepper: DF_KEY_HASH_SECRET, else derived from the only master secret."""
    pinned = hex_keys(env, "DF_KEY_HASH_SECRET")
    if len(pinned) > 1:
        raise KeyConfigError("DF_KEY_HASH_SECRET takes one key (64 hex characters); it is never rotated")
    if pinned:
        return pinned[0]
    if len(masters) != 1:
        raise KeyConfigError(
            "DF_KEY_HASH_SECRET is required with several DF_SECRET_KEYS (buyer key hashes must not change when "
            "a master secret is retired); `dragonfly keys proxy-env` prints the value derived from your old key")
    return purpose_key(masters[0], "key-hash")


def seal_keys(env: Mapping[str, str], masters: tuple[str, ...]) -> tuple[bytes, ...]:
    """Snapshot sealing keys, newest first: DF_SEAL_KEYS, else one derived per master secret."""
    return hex_keys(env, "DF_SEAL_KEYS") or tuple(purpose_key(m, "snapshot-seal") for m in masters)


def proxy_env(env: Mapping[str, str]) -> dict[str, str]:
    """What a proxy needs from the control plane's key settings (and nothing that can sign)."""
    masters = master_secrets(env)
    if not masters:
        raise KeyConfigError("set DF_SECRET_KEY (or DF_SECRET_KEYS) first")
    return {"DF_KEY_HASH_SECRET": hash_secret(env, masters).hex(),
            "DF_SEAL_KEYS": ",".join(k.hex() for k in seal_keys(env, masters))}


SECRET_VARIABLES = ("DF_SECRET_KEY", "DF_SECRET_KEYS", "DF_ENCRYPTION_KEY", "DF_ENCRYPTION_KEYS", "DF_ADMIN_TOKEN")
