"""settings.load_settings: defaults and refusals."""

from __future__ import annotations

import pytest

from control_plane.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings({"DF_SECRET_KEY": "x"})
    assert (s.database_url, s.redis_url, s.redis_prefix) == (DEFAULT_DATABASE_URL, "redis://127.0.0.1:6379/0", "df:")
    assert (s.signup_credit_cents, s.allow_private_upstreams, s.control_port, s.admin_token) == (10, False, 8081, None)


def test_values_and_refusals() -> None:
    s = load_settings({"DF_SECRET_KEY": "x", "DF_ALLOW_PRIVATE_UPSTREAMS": "1", "DF_SIGNUP_CREDIT_CENTS": "0",
                       "DF_REDIS_TIMEOUT_S": "0.5"})
    assert s.allow_private_upstreams and s.signup_credit_cents == 0 and s.redis_timeout_s == 0.5
    for env, word in [({"DF_CONTROL_PORT": "x"}, "DF_CONTROL_PORT"), ({"DF_ALLOW_PRIVATE_UPSTREAMS": "maybe"}, "flag"),
                      ({"DF_DB_CONNECT_TIMEOUT_S": "0"}, "positive"), ({"DF_SIGNUP_CREDIT_CENTS": "-1"}, "at least")]:
        with pytest.raises(SettingsError, match=word):
            load_settings(env)


def test_top_up_and_earnings_settings() -> None:
    s = load_settings({"DF_SECRET_KEY": "x"})
    assert (s.trc20_addresses, s.trc20_dev_addresses, s.payment_ttl_s, s.chain_watcher, s.earnings_lock_s) == (
        (), False, 1800, "none", 604800)
    usdt = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    s = load_settings({"DF_TRC20_ADDRESSES": f" {usdt} ,", "DF_PAYMENT_TTL_S": "600", "DF_CHAIN_WATCHER": "dev",
                       "DF_EARNINGS_LOCK_S": "0"})
    assert (s.trc20_addresses, s.payment_ttl_s, s.chain_watcher, s.earnings_lock_s) == ((usdt,), 600, "dev", 0)
    assert load_settings({"DF_TRC20_ADDRESSES": "dev"}).trc20_dev_addresses
    for env, word in [({"DF_TRC20_ADDRESSES": usdt[:-1] + "u"}, "checksum"),
                      ({"DF_TRC20_ADDRESSES": "0x1234"}, "TRON address"),
                      ({"DF_TRC20_ADDRESSES": f"{usdt},{usdt}"}, "twice"),
                      ({"DF_PAYMENT_TTL_S": "5"}, "at least"), ({"DF_CHAIN_WATCHER": "trongrid"}, "one of")]:
        with pytest.raises(SettingsError, match=word):
            load_settings(env)


def test_key_settings() -> None:
    one = load_settings({"DF_SECRET_KEY": "only-secret-0123456789"})
    assert one.secret_keys == ("only-secret-0123456789",) and len(one.seal_keys) == 1
    two = load_settings({"DF_SECRET_KEYS": "new-secret-0123456789,old-secret-0123456789",
                         "DF_KEY_HASH_SECRET": one.key_hash_secret.hex()})
    assert two.secret_key == "new-secret-0123456789" and len(two.seal_keys) == 2
    assert two.key_hash_secret == one.key_hash_secret
    with pytest.raises(SettingsError, match="DF_KEY_HASH_SECRET is required"):
        load_settings({"DF_SECRET_KEYS": "new-secret-0123456789,old-secret-0123456789"})
    explicit = load_settings({"DF_SECRET_KEY": "only-secret-0123456789", "DF_ENCRYPTION_KEYS": f"{'a' * 64},{'b' * 64}"})
    assert explicit.encryption_keys == ("a" * 64, "b" * 64) and explicit.encryption_key == "a" * 64
