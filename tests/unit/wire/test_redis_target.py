"""Cluster URLs and the one key-naming rule (`wire.redis_target`)."""

from __future__ import annotations

from control_plane.settings import load_settings as control_settings
from proxy.settings import load_settings as proxy_settings
from wire import secret_keys
from wire.redis_target import client_url, cluster_url, is_cluster, key_prefix


def test_cluster_scheme_or_flag_selects_the_cluster_client() -> None:
    assert is_cluster("redis+cluster://10.0.0.1:7000") and not is_cluster("redis://10.0.0.1:6379/0")
    assert client_url("rediss+cluster://:pw@h:7000") == "rediss://:pw@h:7000"
    assert cluster_url("redis://h:7000", "1") == "redis+cluster://h:7000"
    assert cluster_url("redis://h:6379/0", "") == "redis://h:6379/0"


def test_on_a_cluster_every_key_shares_the_prefix_hash_tag() -> None:
    assert key_prefix("df:", cluster=True) == "{df:}"
    assert key_prefix("{acme}:df:", cluster=True) == "{acme}:df:"  # already tagged: kept
    assert key_prefix("df:", cluster=False) == "df:"  # one server: names unchanged


def test_both_processes_agree_on_the_cluster_prefix() -> None:
    env = {"DF_SECRET_KEY": "s" * 43, "DF_REDIS_URL": "redis://h:7000", "DF_REDIS_CLUSTER": "1",
           "DF_REDIS_PREFIX": "prod:"}
    proxy = proxy_settings({**secret_keys.proxy_env(env), "DF_REDIS_URL": env["DF_REDIS_URL"],
                            "DF_REDIS_CLUSTER": "1", "DF_REDIS_PREFIX": "prod:"})
    control = control_settings(env)
    assert proxy.redis_prefix == control.redis_prefix == "{prod:}"
    assert proxy.redis_url == proxy.billing_redis_url == control.redis_url == "redis+cluster://h:7000"
