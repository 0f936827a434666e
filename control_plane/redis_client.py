"""Open a coredis client for a `DF_REDIS_URL`: one server, or Redis Cluster (`wire.redis_target`).

`RedisCluster` answers every command the control plane uses (GET/MGET/pipelines/Lua scripts/streams/
pub-sub) with the same results when all keys share a slot, which `wire.redis_target.key_prefix`
guarantees; it is typed as `coredis.Redis` so callers need not care which one they hold
(tests/integration/test_redis_cluster.py runs the control plane on a real cluster).
"""

from __future__ import annotations

from typing import Any, cast

import coredis

from wire.redis_target import client_url, is_cluster


def open_redis(url: str, **kwargs: Any) -> coredis.Redis[bytes]:
    """A client (not yet entered) for `url`; bytes responses."""
    if is_cluster(url):
        return cast("coredis.Redis[bytes]", coredis.RedisCluster.from_url(
            client_url(url), decode_responses=False, **kwargs))
    return coredis.Redis.from_url(url, decode_responses=False, **kwargs)
