"""Purpose keys: the same derivations as before the split, and what a proxy is given."""

from __future__ import annotations

import pytest

from wire.keys import derive_hash_secret
from wire.secret_keys import KeyConfigError, hash_secret, master_secrets, proxy_env, purpose_key, seal_keys


def test_existing_buyer_key_hashes_keep_working() -> None:
    assert hash_secret({}, ("s" * 20,)) == derive_hash_secret("s" * 20)


def test_several_master_secrets_newest_first() -> None:
    env = {"DF_SECRET_KEYS": "new-secret-0123456, old-secret-0123456", "DF_SECRET_KEY": "ignored-0123456789"}
    assert master_secrets(env) == ("new-secret-0123456", "old-secret-0123456")
    assert seal_keys(env, master_secrets(env)) == (purpose_key("new-secret-0123456", "snapshot-seal"),
                                                  purpose_key("old-secret-0123456", "snapshot-seal"))
    with pytest.raises(KeyConfigError, match="DF_KEY_HASH_SECRET is required"):
        hash_secret(env, master_secrets(env))
    pinned = {**env, "DF_KEY_HASH_SECRET": "ab" * 32}
    assert hash_secret(pinned, master_secrets(pinned)) == bytes.fromhex("ab" * 32)
    with pytest.raises(KeyConfigError, match="twice"):
        master_secrets({"DF_SECRET_KEYS": "a-secret-0123456789,a-secret-0123456789"})


def test_the_proxy_env_holds_no_master_secret() -> None:
    env = {"DF_SECRET_KEY": "master-secret-0123456789"}
    out = proxy_env(env)
    assert set(out) == {"DF_KEY_HASH_SECRET", "DF_SEAL_KEYS"}
    assert "master-secret-0123456789" not in "".join(out.values())
    assert bytes.fromhex(out["DF_SEAL_KEYS"]) == purpose_key("master-secret-0123456789", "snapshot-seal")


def test_bad_hex_keys_are_refused_with_the_variable_name() -> None:
    with pytest.raises(KeyConfigError, match="DF_SEAL_KEYS"):
        seal_keys({"DF_SEAL_KEYS": "abcd"}, ())
