"""Proxy settings, read once from `DF_*` environment variables.

Every timeout and limit of the proxy lives here. Documented in README.md.

Keys (`wire.secret_keys`): a proxy holds only DF_KEY_HASH_SECRET (buyer-key hashes,
request ids) and DF_SEAL_KEYS (opens the upstream keys sealed in snapshots), which
`dragonfly keys proxy-env` prints. Nothing it holds can sign a login or decrypt pool keys
in PostgreSQL. DF_SECRET_KEY is still accepted (development) to derive both, with a
warning: a proxy given the master secret could forge logins.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import msgspec

from wire import secret_keys as keys
from wire.redis_target import cluster_url, is_cluster, key_prefix

log = logging.getLogger("dragonfly.proxy")


class ProxySettings(msgspec.Struct, frozen=True, kw_only=True):
    key_hash_secret: bytes  # buyer-key hash pepper (DF_KEY_HASH_SECRET)
    seal_keys: tuple[bytes, ...] = ()  # opens sealed upstream keys in snapshots (DF_SEAL_KEYS), newest first
    snapshot_file: str = ""  # load the snapshot from this file (dev/tests) ...
    redis_url: str = ""  # ... or from Redis (production)
    redis_prefix: str = "df:"
    snapshot_poll_s: float = 1.0  # file mtime / Redis manifest poll interval
    control_plane_url: str = ""  # where /api/*, /v1/pool/* … are forwarded
    control_plane_timeout_s: float = 60.0  # a whole forwarded exchange
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 25 * 1024 * 1024  # /v1/audio/transcriptions uploads (413 above)
    connect_timeout_s: float = 5.0
    first_byte_timeout_s: float = 60.0  # request sent -> response headers
    idle_timeout_s: float = 60.0  # between two body chunks from the upstream
    total_timeout_s: float = 600.0  # whole upstream exchange
    max_upstream_json_bytes: int = 16 * 1024 * 1024  # a non-streamed upstream answer (502 above)
    pool_idle_timeout_s: float = 90.0
    pool_max_idle_per_host: int = 512
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed
    billing_redis_url: str = ""  # reservations + usage stream (DF_BILLING=1, default when DF_REDIS_URL is set)
    billing_redis_timeout_s: float = 0.25  # per credit-lease round / usage batch; past it -> offline allowance
    billing_sync_s: float = 0.02  # credit-lease round interval (sooner when a request waits for credit)
    billing_wait_s: float = 0.3  # longest a request waits for a lease round before the offline allowance
    billing_lease_max_micro_usd: int = 50_000_000  # headroom cap of one lease (waiting demand always asked)
    usage_flush_ms: int = 20  # usage events wait at most this long in memory before going to Redis
    usage_spool_dir: str = ".dragonfly/spool"
    usage_spool_max_bytes: int = 256 * 1024 * 1024
    offline_allowance_micro_usd: int = 1_000_000  # per account per process while Redis is unreachable
    route_deadline_s: float = 90.0  # all attempts of one request, until the first byte
    eject_base_s: float = 10.0  # outlier ejection: first back-off (doubles per ejection)
    eject_max_s: float = 300.0
    eject_consecutive: int = 5  # consecutive failures that eject a listing
    stats_report_s: float = 5.0  # how often live listing stats go to Redis
    probe_timeout_s: float = 20.0  # an admission probe's whole exchange (DF_PROBE_TIMEOUT_S)
    limits_enabled: bool = True  # DF_LIMITS=0 turns buyer limits and seller caps off (benchmarks)
    limits_redis_url: str = ""  # global limits through Redis; empty: local buckets only (one process)
    limits_window_s: float = 60.0  # the "per minute" of RPM/TPM (shorter only in tests)
    limits_lease_s: float = 0.25  # longest a worker may hold a grant before spending it (window + this)
    limits_day_offset_s: float = 0.0  # added to the wall clock for daily quotas (tests only)
    limits_sync_s: float = 0.02  # background lease round interval
    limits_wait_s: float = 0.25  # longest a request waits for a lease before using its local share
    limits_redis_timeout_s: float = 0.05  # one sync round trip
    limits_min_replicas: int = 1  # replicas assumed at least, for the outage share limit / n
    limits_default_max_tokens: int = 1024  # completion budget reserved when a request sets none
    unauth_ip_per_min: int = 60  # failed authentications per IP per minute per worker before 429
    control_plane_max_body_bytes: int = 64 * 1024  # forwarded request bodies (413 above, counted while read)
    body_read_timeout_s: float = 10.0  # longest a request body may take to arrive (408 after)
    forward_admin: bool = False  # DF_FORWARD_ADMIN=1: forward /api/admin/* (default: control plane port only)
    metrics_listings: int = 200  # DF_METRICS_LISTINGS: listings with their own series (the rest: "other")
    metrics_token: str = ""  # DF_METRICS_TOKEN: bearer token that may read /metrics from anywhere
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # DF_METRICS_NETWORKS: may read /metrics
    upstream_allow_private: bool = False  # DF_ALLOW_PRIVATE_UPSTREAMS=1: connect to any address (dev, tests)
    upstream_allow_networks: tuple[str, ...] = ()  # DF_UPSTREAM_ALLOW_NETWORKS: non-public networks allowed
    upstream_ports: tuple[int, ...] = (80, 443, 8443)  # DF_UPSTREAM_PORTS ("any": every port)
    upstream_dns_ttl_s: float = 60.0  # DF_UPSTREAM_DNS_TTL_S: how long a checked address is reused


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not a number") from exc
    if value <= 0:
        raise SystemExit(f"{name} must be positive, got {raw!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not an integer") from exc
    if value <= 0:
        raise SystemExit(f"{name} must be positive, got {raw!r}")
    return value


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(c.strip() for c in raw.split(",") if c.strip())


def _ports(env: Mapping[str, str]) -> tuple[int, ...]:
    items = _list(env, "DF_UPSTREAM_PORTS", ("80", "443", "8443"))
    if any(i.lower() == "any" for i in items):
        return ()
    try:
        ports = tuple(int(i) for i in items)
    except ValueError as exc:
        raise SystemExit(f"DF_UPSTREAM_PORTS: {exc}; list ports like 443,8443 or 'any'") from exc
    if any(not 0 < p < 65536 for p in ports):
        raise SystemExit("DF_UPSTREAM_PORTS: ports are 1-65535")
    return ports


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SystemExit(f"{name}={raw!r} is not a flag; use 1 or 0")


def _keys(env: Mapping[str, str]) -> tuple[bytes, tuple[bytes, ...]]:
    """(hash pepper, sealing keys) from DF_KEY_HASH_SECRET / DF_SEAL_KEYS, else from DF_SECRET_KEY (dev)."""
    secret = env.get("DF_SECRET_KEY", "")
    masters = (secret,) if secret else ()
    if not env.get("DF_KEY_HASH_SECRET", "").strip():
        if len(secret) < 16:
            raise SystemExit("set DF_KEY_HASH_SECRET and DF_SEAL_KEYS (`dragonfly keys proxy-env` prints them), "
                             "or DF_SECRET_KEY (development: 16+ random characters)")
    try:
        pepper = keys.hash_secret(env, masters)
        seal = keys.seal_keys(env, masters)
    except keys.KeyConfigError as exc:
        raise SystemExit(str(exc)) from None
    if secret:
        log.warning("the proxy was given DF_SECRET_KEY, from which logins can be signed; in production give it "
                    "only DF_KEY_HASH_SECRET and DF_SEAL_KEYS (`dragonfly keys proxy-env`)")
    return pepper, seal


def load_settings(env: Mapping[str, str] | None = None) -> ProxySettings:
    env = os.environ if env is None else env
    pepper, seal = _keys(env)
    snapshot_file = env.get("DF_SNAPSHOT_FILE", "")
    redis_url = cluster_url(env.get("DF_REDIS_URL", ""), env.get("DF_REDIS_CLUSTER", ""))
    if not snapshot_file and not redis_url:
        raise SystemExit("set DF_SNAPSHOT_FILE (a snapshot file) or DF_REDIS_URL (snapshots from Redis)")
    if redis_url and not snapshot_file and not seal:
        raise SystemExit("DF_SEAL_KEYS is required to read snapshots from Redis (upstream keys are sealed); "
                         "`dragonfly keys proxy-env` prints it")
    billing_flag = env.get("DF_BILLING", "").strip()
    billing = billing_flag == "1" if billing_flag else bool(redis_url) and not snapshot_file
    trusted = tuple(c.strip() for c in env.get("DF_TRUSTED_PROXIES", "").split(",") if c.strip())
    return ProxySettings(
        key_hash_secret=pepper,
        seal_keys=seal,
        snapshot_file=snapshot_file,
        redis_url="" if snapshot_file else redis_url,
        redis_prefix=key_prefix(env.get("DF_REDIS_PREFIX", "df:"), is_cluster(redis_url)),
        snapshot_poll_s=_float(env, "DF_SNAPSHOT_POLL_S", 1.0),
        control_plane_url=env.get("DF_CONTROL_PLANE_URL", "").rstrip("/"),
        control_plane_timeout_s=_float(env, "DF_CONTROL_PLANE_TIMEOUT_S", 60.0),
        max_body_bytes=_int(env, "DF_MAX_BODY_BYTES", 10 * 1024 * 1024),
        max_upload_bytes=_int(env, "DF_MAX_UPLOAD_BYTES", 25 * 1024 * 1024),
        connect_timeout_s=_float(env, "DF_UPSTREAM_CONNECT_TIMEOUT_S", 5.0),
        first_byte_timeout_s=_float(env, "DF_UPSTREAM_FIRST_BYTE_TIMEOUT_S", 60.0),
        idle_timeout_s=_float(env, "DF_UPSTREAM_IDLE_TIMEOUT_S", 60.0),
        total_timeout_s=_float(env, "DF_UPSTREAM_TOTAL_TIMEOUT_S", 600.0),
        max_upstream_json_bytes=_int(env, "DF_UPSTREAM_MAX_JSON_BYTES", 16 * 1024 * 1024),
        pool_idle_timeout_s=_float(env, "DF_UPSTREAM_POOL_IDLE_TIMEOUT_S", 90.0),
        pool_max_idle_per_host=_int(env, "DF_UPSTREAM_POOL_MAX_IDLE", 512),
        trusted_proxies=trusted,
        billing_redis_url=redis_url if billing else "",
        billing_redis_timeout_s=_float(env, "DF_BILLING_REDIS_TIMEOUT_S", 0.25),
        billing_sync_s=_float(env, "DF_BILLING_SYNC_MS", 20.0) / 1000,
        billing_wait_s=_float(env, "DF_BILLING_WAIT_MS", 300.0) / 1000,
        billing_lease_max_micro_usd=_int(env, "DF_BILLING_LEASE_MAX_MICRO_USD", 50_000_000),
        usage_flush_ms=_int(env, "DF_USAGE_FLUSH_MS", 20),
        usage_spool_dir=env.get("DF_USAGE_SPOOL_DIR", "") or ".dragonfly/spool",
        usage_spool_max_bytes=_int(env, "DF_USAGE_SPOOL_MAX_BYTES", 256 * 1024 * 1024),
        offline_allowance_micro_usd=_int(env, "DF_OFFLINE_ALLOWANCE_MICRO_USD", 1_000_000),
        route_deadline_s=_float(env, "DF_ROUTE_DEADLINE_S", 90.0),
        eject_base_s=_float(env, "DF_EJECT_BASE_S", 10.0),
        eject_max_s=_float(env, "DF_EJECT_MAX_S", 300.0),
        eject_consecutive=_int(env, "DF_EJECT_CONSECUTIVE", 5),
        stats_report_s=_float(env, "DF_STATS_REPORT_S", 5.0),
        probe_timeout_s=_float(env, "DF_PROBE_TIMEOUT_S", 20.0),
        limits_enabled=env.get("DF_LIMITS", "1").strip().lower() not in ("0", "off", "false", "no"),
        limits_redis_url=redis_url,
        limits_window_s=_float(env, "DF_LIMITS_WINDOW_S", 60.0),
        limits_lease_s=_float(env, "DF_LIMITS_LEASE_MS", 250.0) / 1000,
        limits_day_offset_s=_float(env, "DF_LIMITS_DAY_OFFSET_S", 0.0),
        limits_sync_s=_float(env, "DF_LIMITS_SYNC_MS", 20.0) / 1000,
        limits_wait_s=_float(env, "DF_LIMITS_WAIT_MS", 250.0) / 1000,
        limits_redis_timeout_s=_float(env, "DF_LIMITS_REDIS_TIMEOUT_MS", 50.0) / 1000,
        limits_min_replicas=_int(env, "DF_LIMITS_MIN_REPLICAS", 1),
        limits_default_max_tokens=_int(env, "DF_LIMITS_DEFAULT_MAX_TOKENS", 1024),
        unauth_ip_per_min=_int(env, "DF_UNAUTH_IP_PER_MIN", 60),
        control_plane_max_body_bytes=_int(env, "DF_CONTROL_PLANE_MAX_BODY_BYTES", 64 * 1024),
        body_read_timeout_s=_float(env, "DF_BODY_READ_TIMEOUT_S", 10.0),
        forward_admin=_flag(env, "DF_FORWARD_ADMIN"),
        metrics_token=env.get("DF_METRICS_TOKEN", "").strip(),
        metrics_listings=_int(env, "DF_METRICS_LISTINGS", 200),
        metrics_networks=_list(env, "DF_METRICS_NETWORKS", ("127.0.0.0/8", "::1/128")),
        upstream_allow_private=_flag(env, "DF_ALLOW_PRIVATE_UPSTREAMS"),
        upstream_allow_networks=_list(env, "DF_UPSTREAM_ALLOW_NETWORKS", ()),
        upstream_ports=_ports(env),
        upstream_dns_ttl_s=_float(env, "DF_UPSTREAM_DNS_TTL_S", 60.0),
    )
