"""Control-plane settings, read once from `DF_*` environment variables.

| variable | default | meaning |
|---|---|---|
| DF_DATABASE_URL | postgresql://postgres@127.0.0.1:5432/dragonfly | PostgreSQL (truth) |
| DF_REDIS_URL | redis://127.0.0.1:6379/0 | Redis (snapshots) |
| DF_REDIS_PREFIX | df: | prefix of every Redis key we write (a hash tag on a Cluster: `{df:}`) |
| DF_REDIS_CLUSTER | 0 | 1: DF_REDIS_URL is a Redis Cluster node (same as `redis+cluster://`) |
| DF_SECRET_KEY | (required outside dev) | the master secret (one-key form of DF_SECRET_KEYS) |
| DF_SECRET_KEYS | DF_SECRET_KEY | master secrets, newest first: sign/encrypt with the first, verify/open with any |
| DF_ENCRYPTION_KEY(S) | derived per master secret | AES-GCM keys for seller upstream keys, newest first |
| DF_SEAL_KEYS | derived per master secret | snapshot sealing keys (64 hex each), newest first; shared with proxies |
| DF_KEY_HASH_SECRET | from DF_SECRET_KEY | buyer-key hash pepper (64 hex); required with several master secrets |
| DF_ADMIN_TOKEN | (unset = admin API off) | bearer token of the operator API |
| DF_SIGNUP_CREDIT_CENTS | 10 | credit granted on email verification |
| DF_ALLOW_PRIVATE_UPSTREAMS | 0 | 1 allows loopback/private/link-local base URLs |
| DF_CONTROL_PORT | 8081 | port `dragonfly control-plane` listens on |
| DF_JWT_TTL_S | 86400 | login token lifetime |
| DF_DB_CONNECT_TIMEOUT_S | 5 | PostgreSQL connect timeout |
| DF_DB_COMMAND_TIMEOUT_S | 10 | PostgreSQL per-statement timeout |
| DF_REDIS_TIMEOUT_S | 5 | Redis connect and command timeout |
| DF_SNAPSHOT_DEBOUNCE_MS | 50 | quiet time before a rebuild after a change |
| DF_SNAPSHOT_MAX_DELAY_MS | 250 | longest a change waits under a steady burst |
| DF_SNAPSHOT_RESYNC_S | 60 | periodic rebuild (heals lost notices, expiries) |
| DF_VERIFY_TOKEN_TTL_S | 86400 | email verification token lifetime |
| DF_PUBLIC_URL | http://127.0.0.1:8081 | base URL used in verification mails |
| DF_TRC20_ADDRESSES | (unset = top-ups off) | TRON deposit address pool, comma-separated; `dev`: derived |
|   |   | addresses nobody can spend (development only) |
| DF_PAYMENT_TTL_S | 1800 | how long a top-up intent holds its address and can be confirmed |
| DF_CHAIN_WATCHER | none | `none`: operators confirm (POST /api/admin/payments/{id}/confirm); |
|   |   | `dev`: every open intent counts as paid in full after 3 s (development only) |
| DF_EARNINGS_LOCK_S | 604800 | seller earnings younger than this are locked (reserve against disputes) |
| DF_PRICE_REVIEW_BAND_BPS | 5000 | a listing price change moving an ask more than this (bps of the current ask) waits |
|   |   | for the seller's POST /v1/market/listings/{id}/confirm-price (price review) |
| DF_PRICE_FLOOR_BPS | 1000 | catalog floor: an ask below this share of the catalog price also goes to review |
| DF_CONSUMER_NAME | cp-{hostname}-{DF_CONTROL_PORT} | settlement consumer name base; unique per replica |
|   |   | (`control_plane.billing.consumer_name`: a per-host slot number is appended) |
| DF_UPSTREAM_PORTS | 80,443,8443 | ports a seller base URL may name (`any`; DF_ALLOW_PRIVATE_UPSTREAMS=1 too) |
| DF_BODY_READ_TIMEOUT_S | 10 | longest a request body may take to arrive (408); over 64 KiB: 413 while read |
| DF_METRICS_NETWORKS / DF_METRICS_TOKEN | loopback / unset | who may read /metrics (peers, or a bearer token) |
| DF_STATS_SOURCE | redis | live listing stats for ranking: `redis` (proxies' reports) or `prometheus` |
| DF_PROMETHEUS_URL | http://127.0.0.1:9090 | Prometheus that scrapes the proxies (DF_STATS_SOURCE=prometheus) |
| DF_PROMETHEUS_WINDOW / DF_PROMETHEUS_QUANTILE | 5m / 0.5 | window and quantile of the TTFT and tokens/s queries |
| DF_PROMETHEUS_TIMEOUT_S | 2 | longest a snapshot build waits for Prometheus (then: no stats) |
| DF_METRICS_SELLERS | 100 | sellers with their own `seller` label on /metrics (the rest: `other`) |
| DF_METRICS_LISTINGS | 200 | routed listings with a `dragonfly_market_listing_info` series (first by id) |
| DF_LEDGER_CHECK_S | 3600 | how often the ledger check runs for `dragonfly_ledger_check_ok` (0 = never) |
| DF_ADMIN_FAILS_PER_IP_PER_MIN | 10 | wrong operator tokens per client IP per minute before 429 (0 = no limit) |
| DF_MAX_ROUTING_PROFILES / DF_MAX_KEYS / DF_MAX_MANAGEMENT_KEYS | 20 / 100 / 20 | per-account quotas (403) |
| DF_MAX_POOL_KEYS / DF_MAX_LISTINGS / DF_MAX_OPEN_PAYMENTS | 50 / 200 / 3 | per-account quotas (`http/quotas.py`) |
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping

import msgspec

from control_plane.billing.tron import AddressError, check_address
from wire import secret_keys as keys
from wire.redis_target import cluster_url, is_cluster, key_prefix

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/dragonfly"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class SettingsError(ValueError):
    """A DF_* variable that cannot be used as given."""


class Quotas(msgspec.Struct, frozen=True, kw_only=True):
    """Per-account object limits (`control_plane.http.quotas`)."""

    routing_profiles: int = 20
    keys: int = 100
    management_keys: int = 20
    pool_keys: int = 50
    listings: int = 200
    open_payments: int = 3


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    redis_prefix: str = "df:"
    secret_key: str  # the newest master secret
    encryption_key: str | None = None  # the newest explicit data key (DF_ENCRYPTION_KEY[S])
    secret_keys: tuple[str, ...] = ()  # every master secret, newest first (see wire.secret_keys)
    encryption_keys: tuple[str, ...] = ()  # explicit data keys, newest first
    seal_keys: tuple[bytes, ...] = ()  # snapshot sealing keys, newest first
    key_hash_secret: bytes = b""  # buyer-key hash pepper
    admin_token: str | None = None
    signup_credit_cents: int = 10
    allow_private_upstreams: bool = False
    control_port: int = 8081
    jwt_ttl_s: int = 86400
    db_connect_timeout_s: float = 5.0
    db_command_timeout_s: float = 10.0
    redis_timeout_s: float = 5.0
    snapshot_debounce_ms: int = 50
    snapshot_max_delay_ms: int = 250
    snapshot_resync_s: float = 60.0
    verify_token_ttl_s: int = 86400
    public_url: str = "http://127.0.0.1:8081"
    login_per_ip_per_min: int = 20  # POST /api/auth/login per client IP per minute (0 = no limit)
    signup_per_ip_per_min: int = 10  # POST /api/auth/signup per client IP per minute (0 = no limit)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")  # whose X-Forwarded-For is believed
    trc20_addresses: tuple[str, ...] = ()  # the deposit address pool (validated TRON addresses)
    trc20_dev_addresses: bool = False  # DF_TRC20_ADDRESSES=dev: derive per-intent addresses (dev only)
    payment_ttl_s: int = 1800
    chain_watcher: str = "none"  # "none" | "dev"
    earnings_lock_s: int = 7 * 86400
    price_review_band_bps: int = 5000  # price review (control_plane.http.listing_pricing)
    price_floor_bps: int = 1000
    consumer_name: str = ""  # DF_CONSUMER_NAME; "" = the per-host default (`control_plane.billing.consumer_name`)
    upstream_ports: tuple[int, ...] = (80, 443, 8443)  # () = any port
    body_read_timeout_s: float = 10.0
    admin_fails_per_ip_per_min: int = 10
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # peers that may read /metrics
    metrics_token: str = ""  # bearer token that may read /metrics from anywhere
    metrics_sellers: int = 100  # sellers with their own label on /metrics
    metrics_listings: int = 200  # listings with a dragonfly_market_listing_info series
    stats_source: str = "redis"  # redis | prometheus
    prometheus_url: str = "http://127.0.0.1:9090"
    prometheus_window: str = "5m"
    prometheus_quantile: float = 0.5
    prometheus_timeout_s: float = 2.0
    ledger_check_s: int = 3600  # period of the ledger check behind dragonfly_ledger_check_ok (0 = never)
    quotas: Quotas = Quotas()
    # admission probes and contracts (README "Admission", "Contracts")
    admission: bool = True  # DF_ADMISSION=off: listings are admitted unprobed (development without proxies)
    probe_timeout_s: float = 20.0  # how long a probe may take, and the control plane waits for a proxy
    probe_interval_s: float = 3600.0  # scheduled re-probe of an admitted listing (+-20 % jitter)
    probe_retry_s: float = 10.0  # first back-off after a failed probe; doubles per failure
    probe_retry_max_s: float = 900.0
    probe_tick_s: float = 1.0  # the scheduler's tick: due probes, proxies' 401/403 reports
    contract_suspend_after: int = 3  # failed checks in a row that suspend a contract (the first degrades)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not an integer; set it to e.g. {default}") from exc
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds; set it to e.g. {default}") from exc
    if not value > 0:
        raise SettingsError(f"{name}={raw!r} must be a positive number of seconds")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} is not a flag; use 1 or 0")


def _trc20(env: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    raw = env.get("DF_TRC20_ADDRESSES", "").strip()
    if raw.lower() == "dev":
        return (), True
    out: list[str] = []
    for item in (a.strip() for a in raw.split(",")):
        if not item:
            continue
        try:
            out.append(check_address(item))
        except AddressError as exc:
            raise SettingsError(f"DF_TRC20_ADDRESSES: {exc}; list TRON addresses separated by commas") from None
    if len(set(out)) != len(out):
        raise SettingsError("DF_TRC20_ADDRESSES lists an address twice; list each deposit address once")
    return tuple(out), False


def _window(env: Mapping[str, str]) -> str:
    raw = env.get("DF_PROMETHEUS_WINDOW", "").strip() or "5m"
    if not re.fullmatch(r"[1-9][0-9]*[smhd]", raw):
        raise SettingsError(f"DF_PROMETHEUS_WINDOW={raw!r} is not a Prometheus duration such as 30s, 5m, 1h")
    return raw


def _quantile(env: Mapping[str, str]) -> float:
    q = _float(env, "DF_PROMETHEUS_QUANTILE", 0.5)
    if not 0 < q < 1:
        raise SettingsError(f"DF_PROMETHEUS_QUANTILE={q} must be between 0 and 1 (exclusive)")
    return q


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


def _ports(env: Mapping[str, str]) -> tuple[int, ...]:
    raw = env.get("DF_UPSTREAM_PORTS", "80,443,8443")
    items = [i.strip() for i in raw.split(",") if i.strip()]
    if any(i.lower() == "any" for i in items):
        return ()
    try:
        ports = tuple(int(i) for i in items)
    except ValueError:
        raise SettingsError(f"DF_UPSTREAM_PORTS={raw!r}: list ports such as 443,8443, or 'any'") from None
    if any(not 0 < p < 65536 for p in ports):
        raise SettingsError(f"DF_UPSTREAM_PORTS={raw!r}: ports are 1-65535")
    return ports


def _networks(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    items = default if raw is None else tuple(c.strip() for c in raw.split(",") if c.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not a network such as 10.0.0.0/8") from None
    return items


def _quotas(env: Mapping[str, str]) -> Quotas:
    d = Quotas()
    return Quotas(**{name: _int(env, "DF_MAX_" + name.upper(), getattr(d, name), minimum=1)
                     for name in Quotas.__struct_fields__})


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment. Without DF_SECRET_KEY(S) a random one is used (dev only:
    tokens and key hashes then change on every restart)."""
    env = os.environ if env is None else env
    redis_url = cluster_url(env.get("DF_REDIS_URL", "").strip() or DEFAULT_REDIS_URL, env.get("DF_REDIS_CLUSTER", ""))
    try:
        masters = keys.master_secrets(env) or (secrets.token_urlsafe(32),)
        seal = keys.seal_keys(env, masters)
        pepper = keys.hash_secret(env, masters)
    except keys.KeyConfigError as exc:
        raise SettingsError(str(exc)) from None
    data = tuple(k.strip() for k in (env.get("DF_ENCRYPTION_KEYS", "") or env.get("DF_ENCRYPTION_KEY", "")).split(",")
                 if k.strip())
    pool, dev_addresses = _trc20(env)
    return Settings(
        database_url=env.get("DF_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        redis_url=redis_url,
        redis_prefix=key_prefix(env.get("DF_REDIS_PREFIX", "df:"), is_cluster(redis_url)),
        secret_key=masters[0],
        encryption_key=data[0] if data else None,
        secret_keys=masters,
        encryption_keys=data,
        seal_keys=seal,
        key_hash_secret=pepper,
        admin_token=env.get("DF_ADMIN_TOKEN", "").strip() or None,
        signup_credit_cents=_int(env, "DF_SIGNUP_CREDIT_CENTS", 10),
        allow_private_upstreams=_flag(env, "DF_ALLOW_PRIVATE_UPSTREAMS"),
        control_port=_int(env, "DF_CONTROL_PORT", 8081, minimum=1),
        jwt_ttl_s=_int(env, "DF_JWT_TTL_S", 86400, minimum=60),
        db_connect_timeout_s=_float(env, "DF_DB_CONNECT_TIMEOUT_S", 5.0),
        db_command_timeout_s=_float(env, "DF_DB_COMMAND_TIMEOUT_S", 10.0),
        redis_timeout_s=_float(env, "DF_REDIS_TIMEOUT_S", 5.0),
        snapshot_debounce_ms=_int(env, "DF_SNAPSHOT_DEBOUNCE_MS", 50),
        snapshot_max_delay_ms=_int(env, "DF_SNAPSHOT_MAX_DELAY_MS", 250),
        snapshot_resync_s=_float(env, "DF_SNAPSHOT_RESYNC_S", 60.0),
        verify_token_ttl_s=_int(env, "DF_VERIFY_TOKEN_TTL_S", 86400, minimum=60),
        public_url=(env.get("DF_PUBLIC_URL", "").strip() or "http://127.0.0.1:8081").rstrip("/"),
        login_per_ip_per_min=_int(env, "DF_LOGIN_PER_IP_PER_MIN", 20),
        signup_per_ip_per_min=_int(env, "DF_SIGNUP_PER_IP_PER_MIN", 10),
        trusted_proxies=tuple(c.strip() for c in env.get("DF_TRUSTED_PROXIES", "127.0.0.1/32,::1/128").split(",")
                              if c.strip()),
        trc20_addresses=pool,
        trc20_dev_addresses=dev_addresses,
        payment_ttl_s=_int(env, "DF_PAYMENT_TTL_S", 1800, minimum=60),
        chain_watcher=_choice(env, "DF_CHAIN_WATCHER", "none", ("none", "dev")),
        earnings_lock_s=_int(env, "DF_EARNINGS_LOCK_S", 7 * 86400),
        price_review_band_bps=_int(env, "DF_PRICE_REVIEW_BAND_BPS", 5000),
        price_floor_bps=_int(env, "DF_PRICE_FLOOR_BPS", 1000),
        consumer_name=env.get("DF_CONSUMER_NAME", "").strip(),
        upstream_ports=_ports(env),
        body_read_timeout_s=_float(env, "DF_BODY_READ_TIMEOUT_S", 10.0),
        admin_fails_per_ip_per_min=_int(env, "DF_ADMIN_FAILS_PER_IP_PER_MIN", 10),
        metrics_networks=_networks(env, "DF_METRICS_NETWORKS", ("127.0.0.0/8", "::1/128")),
        metrics_token=env.get("DF_METRICS_TOKEN", "").strip(),
        metrics_sellers=_int(env, "DF_METRICS_SELLERS", 100),
        metrics_listings=_int(env, "DF_METRICS_LISTINGS", 200),
        stats_source=_choice(env, "DF_STATS_SOURCE", "redis", ("redis", "prometheus")),
        prometheus_url=env.get("DF_PROMETHEUS_URL", "").strip() or "http://127.0.0.1:9090",
        prometheus_window=_window(env),
        prometheus_quantile=_quantile(env),
        prometheus_timeout_s=_float(env, "DF_PROMETHEUS_TIMEOUT_S", 2.0),
        ledger_check_s=_int(env, "DF_LEDGER_CHECK_S", 3600),
        quotas=_quotas(env),
        admission=_choice(env, "DF_ADMISSION", "on", ("on", "off")) == "on",
        probe_timeout_s=_float(env, "DF_PROBE_TIMEOUT_S", 20.0),
        probe_interval_s=_float(env, "DF_PROBE_INTERVAL_S", 3600.0),
        probe_retry_s=_float(env, "DF_PROBE_RETRY_S", 10.0),
        probe_retry_max_s=_float(env, "DF_PROBE_RETRY_MAX_S", 900.0),
        probe_tick_s=_float(env, "DF_PROBE_TICK_S", 1.0),
        contract_suspend_after=_int(env, "DF_CONTRACT_SUSPEND_AFTER", 3, minimum=2),
    )
