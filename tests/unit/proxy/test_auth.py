import ipaddress
import time

import pytest

from proxy.auth import authenticate, bearer_token, check_access, client_ip
from proxy.errors import Forbidden, Unauthorized
from proxy.snapshot.index import build_index
from wire.keys import derive_hash_secret, hash_key, new_key
from wire.snapshot import Account, Key, Model, Snapshot

SECRET = derive_hash_secret("unit-secret-0123456789")


def index_with(*keys: tuple[str, Key]) -> object:
    return build_index(Snapshot(models=(Model(id="m/a", owned_by="m", input_price=1, output_price=1),),
                                keys=tuple(k for _, k in keys),
                                accounts=(Account(id="acc"), Account(id="bad", status="suspended"))))


def make(raw: str, **fields: object) -> tuple[str, Key]:
    return raw, Key(id=raw[-6:], hash=hash_key(SECRET, raw), **{"account_id": "acc", **fields})  # type: ignore[arg-type]


def test_bearer_header_forms() -> None:
    assert bearer_token("Bearer sk-df-x") == "sk-df-x"
    assert bearer_token("bearer  sk-df-x ") == "sk-df-x"
    for bad in (None, "", "Basic abc", "sk-df-x"):
        with pytest.raises(Unauthorized):
            bearer_token(bad)


def test_active_key_authenticates_and_others_are_refused_with_reasons() -> None:
    ok, revoked, expired, suspended = new_key(), new_key(), new_key(), new_key()
    idx = index_with(make(ok), make(revoked, status="disabled"), make(expired, expires_at=int(time.time()) - 1),
                     make(suspended, account_id="bad"))
    now = time.time()
    assert authenticate(ok, idx, SECRET, now).key.hash == hash_key(SECRET, ok)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(revoked, idx, SECRET, now)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized, match="expired"):
        authenticate(expired, idx, SECRET, now)  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="suspended"):
        authenticate(suspended, idx, SECRET, now)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized, match="Unknown"):
        authenticate(new_key(), idx, SECRET, now)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized, match="truncated"):
        authenticate(ok[:-2], idx, SECRET, now)  # type: ignore[arg-type]


def test_a_key_that_expires_in_the_future_still_works() -> None:
    raw = new_key()
    idx = index_with(make(raw, expires_at=int(time.time()) + 3600))
    authenticate(raw, idx, SECRET, time.time())  # type: ignore[arg-type]
    with pytest.raises(Unauthorized):
        authenticate(raw, idx, SECRET, time.time() + 7200)  # type: ignore[arg-type]


def test_ip_lists_and_model_allowlist() -> None:
    raw = new_key()
    idx = index_with(make(raw, ip_whitelist=("10.0.0.0/8", "2001:db8::/32"), ip_blacklist=("10.9.0.0/16",),
                          model_allowlist=("m/a",)))
    entry = authenticate(raw, idx, SECRET, time.time())  # type: ignore[arg-type]
    check_access(entry, "10.1.2.3", "m/a")
    check_access(entry, "2001:db8::1", "m/a")
    with pytest.raises(Forbidden, match="ip_blacklist"):
        check_access(entry, "10.9.1.1", "m/a")
    with pytest.raises(Forbidden, match="ip_whitelist"):
        check_access(entry, "192.168.1.1", "m/a")
    with pytest.raises(Forbidden, match="model_allowlist"):
        check_access(entry, "10.1.2.3", "m/b")


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_ip("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"  # untrusted peer: ignore header
    assert client_ip("10.0.0.2", "1.2.3.4, 10.0.0.7", trusted) == "1.2.3.4"  # skip trusted hops
    assert client_ip("10.0.0.2", None, trusted) == "10.0.0.2"
    assert client_ip("10.0.0.2", "1.2.3.4", ()) == "10.0.0.2"
