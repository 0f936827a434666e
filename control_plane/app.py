"""Composition root: builds every object from settings; starts and stops background tasks.

Background tasks (created here only, cancelled on stop): the PostgreSQL change listener,
the snapshot publisher loop, the admission-probe scheduler (`control_plane.admission`), the
console mail sender, the usage settlement consumer, the billing-state keeper (rebuilds the
Redis credit view from PostgreSQL when lost) and, with `DF_CHAIN_WATCHER=dev`, the chain
watcher that confirms top-up deposits.

Keys (`wire.secret_keys`): JWTs and pool keys use the control plane's own keys; snapshots
carry upstream keys sealed with the first DF_SEAL_KEYS key. Pool keys that do not decrypt
are reported by `PoolKeyHealth` (log, `/readyz`, `/metrics`).

Shutdown order: the settlement consumer is asked to stop first and given
`_SETTLE_GRACE_S` to commit and acknowledge the batch it already read (what it has not read
stays in the stream for the next start); then every task is cancelled, then the pool and
the Redis client close.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
from blacksheep import Application, Content, Request, Response
from prometheus_client import CollectorRegistry

from control_plane.admission.probe_client import ProbeClient
from control_plane.admission.scheduler import run_scheduler
from control_plane.admission.service import Admission
from control_plane.auth.tokens import derive_jwt_key
from control_plane.billing import chain, consumer_name
from control_plane.billing.consumer import UsageConsumer
from control_plane.billing.credit_state import CreditState
from control_plane.crypto import SecretBox, data_keys
from control_plane.db.notify import listen_for_changes
from control_plane.db.pool import create_pool
from control_plane.db.snapshot_rows import fetch_snapshot_rows
from control_plane.errors import error_response
from control_plane.http.boundary import bind, not_found, plain
from control_plane.http.context import Services, json_response
from control_plane.http.ip_limit import IpLimiter
from control_plane.http.openapi import openapi_document
from control_plane.http.routes import api_routes
from control_plane.mailer import ConsoleMailSender
from control_plane.metrics import ControlPlaneMetrics
from control_plane.metrics_loop import run_metrics_loop
from control_plane.pool_key_health import PoolKeyHealth
from control_plane.redis_client import open_redis
from control_plane.schemas.envelopes import Health
from control_plane.settings import Settings
from control_plane.snapshot.builder import BuildResult, build_snapshot
from control_plane.snapshot.live_stats import live_ejections, live_stats
from control_plane.snapshot.prom_stats import prometheus_stats
from control_plane.snapshot.publisher import SnapshotPublisher
from control_plane.snapshot.redis_store import RedisSnapshotStore
from control_plane.snapshot.seal import Sealer
from wire.metrics_access import metrics_allowed
from wire.secret_keys import request_id_secret

log = logging.getLogger("control_plane")
_SETTLE_GRACE_S = 10.0


@dataclass
class Runtime:
    """What start-up creates and shutdown releases."""

    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    services: Services | None = None
    publisher: SnapshotPublisher | None = None
    consumer: UsageConsumer | None = None


def create_app(settings: Settings) -> Application:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Application(show_error_details=False)
    runtime = Runtime()
    box = SecretBox(*data_keys(settings.secret_keys, settings.encryption_keys))
    sealer = Sealer(settings.seal_keys[0])
    metrics = ControlPlaneMetrics(CollectorRegistry(), settings.metrics_sellers, settings.metrics_listings)
    health = PoolKeyHealth(box, metrics.own)
    routes = api_routes()
    openapi = openapi_document(routes)

    async def on_start(_: Application) -> None:
        pool = await create_pool(
            settings.database_url,
            connect_timeout_s=settings.db_connect_timeout_s,
            command_timeout_s=settings.db_command_timeout_s,
        )
        runtime.stack.push_async_callback(pool.close)
        redis = await runtime.stack.enter_async_context(
            open_redis(
                settings.redis_url,
                stream_timeout=settings.redis_timeout_s,
                connect_timeout=settings.redis_timeout_s,
            )
        )
        mailer = ConsoleMailSender(pool)

        def republish() -> None:  # Redis lost its data: the snapshot went with it
            if runtime.publisher is not None:
                runtime.publisher.mark_changed()

        credit_state = CreditState(redis, pool, settings.redis_prefix, on_rebuilt=republish)
        name = consumer_name.claim(settings.consumer_name or consumer_name.default_base(settings.control_port),
                                   settings.redis_url, settings.redis_prefix)
        runtime.stack.callback(name.release)
        consumer = runtime.consumer = UsageConsumer(redis, pool, settings.redis_prefix, name.name, metrics=metrics)
        log.info("settlement consumer %s", name.name)

        admission = Admission(pool, box, ProbeClient(redis, settings.redis_prefix, settings.seal_keys[0],
                                                     settings.probe_timeout_s), settings)
        runtime.stack.push_async_callback(admission.close)
        runtime.services = Services(
            settings=settings,
            pool=pool,
            box=box,
            hash_secret=settings.key_hash_secret,
            jwt_keys=tuple(derive_jwt_key(s) for s in settings.secret_keys),
            wake_mailer=mailer.wake,
            push_credit=credit_state.push,
            request_id_secret=request_id_secret(settings.key_hash_secret),
            ip_limiter=IpLimiter(redis, settings.redis_prefix, {"login": settings.login_per_ip_per_min,
                                 "signup": settings.signup_per_ip_per_min,
                                 "admin": settings.admin_fails_per_ip_per_min}, settings.redis_timeout_s),
            trusted_proxies=tuple(ipaddress.ip_network(c, strict=False) for c in settings.trusted_proxies),
            admission=admission,
            live_stats=lambda: live_stats(redis, settings.redis_prefix),
            live_ejections=lambda: live_ejections(redis, settings.redis_prefix),
        )
        store = RedisSnapshotStore(redis, settings.redis_prefix)
        prom = await runtime.stack.enter_async_context(httpx.AsyncClient(timeout=settings.prometheus_timeout_s))
        async with pool.acquire() as conn:
            await health.scan(conn)  # ERROR per pool key that does not decrypt, before the first build

        async def build() -> BuildResult:
            async with pool.acquire() as conn:
                opened = await health.scan(conn)
                rows = await fetch_snapshot_rows(conn)
            stats = (await prometheus_stats(prom, settings.prometheus_url, settings.prometheus_window,
                                            settings.prometheus_quantile)
                     if settings.stats_source == "prometheus" else await live_stats(redis, settings.redis_prefix))

            def open_key(blob: bytes, seller: str, key: str) -> str:
                plain = opened.get(key)
                return plain if plain is not None else box.open(blob, seller_id=seller, key_id=key)

            try:
                return build_snapshot(rows, open_key, stats, seal=sealer.seal)
            finally:
                sealer.end_build()

        publisher = SnapshotPublisher(
            build=build,
            publish=store.publish,
            debounce_s=settings.snapshot_debounce_ms / 1000,
            max_delay_s=settings.snapshot_max_delay_ms / 1000,
            resync_s=settings.snapshot_resync_s,
            metrics=metrics,
        )
        runtime.publisher = publisher
        runtime.tasks += [
            asyncio.create_task(publisher.run(), name="snapshot-publisher"),  # noqa: TID251
            asyncio.create_task(
                listen_for_changes(  # noqa: TID251
                    settings.database_url,
                    publisher.mark_changed,
                    connect_timeout_s=settings.db_connect_timeout_s,
                    command_timeout_s=settings.db_command_timeout_s,
                ),
                name="snapshot-listener",
            ),
            asyncio.create_task(mailer.run(), name="mail-sender"),  # noqa: TID251
            asyncio.create_task(consumer.run(), name="usage-settlement"),  # noqa: TID251
            asyncio.create_task(credit_state.run(), name="billing-state"),  # noqa: TID251
            asyncio.create_task(run_metrics_loop(metrics, redis, pool, settings.redis_prefix,  # noqa: TID251
                                                 settings.ledger_check_s), name="metrics"),
            asyncio.create_task(run_scheduler(  # noqa: TID251
                admission, pool, redis, settings.redis_prefix, settings.probe_tick_s, settings.probe_timeout_s + 10,
                settings.admission), name="admission-probes"),
        ]
        if settings.trc20_dev_addresses:
            log.warning("DF_TRC20_ADDRESSES=dev: top-up addresses are derived and nobody holds their keys; "
                        "development only, never take real deposits this way")
        if settings.chain_watcher == "dev":
            log.warning("DF_CHAIN_WATCHER=dev: every top-up counts as paid in full after 3 s (development only)")
            runtime.tasks.append(asyncio.create_task(  # noqa: TID251
                chain.run(pool, chain.DevChainWatcher(), credit_state.push), name="chain-watcher"))

    async def on_stop(_: Application) -> None:
        if runtime.consumer is not None:
            runtime.consumer.stop()
            settling = [t for t in runtime.tasks if t.get_name() == "usage-settlement"]
            if settling:
                await asyncio.wait(settling, timeout=_SETTLE_GRACE_S)
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        await runtime.stack.aclose()

    app.on_start += on_start
    app.on_stop += on_stop

    def services() -> Services:
        assert runtime.services is not None, "handlers run only after start-up"
        return runtime.services

    for route in routes:
        app.router.add(route.method, route.path, metrics.timed(route.path, route.method, bind(route, services)))

    async def healthz(_: Request) -> Response:
        return json_response(
            Health(status="ok", snapshot_version=runtime.publisher.version if runtime.publisher else "")
        )

    async def readyz(_: Request) -> Response:
        pub = runtime.publisher
        if pub is None or not pub.version:
            return json_response(Health(status="starting: no snapshot published yet"), 503)
        if pub.last_error:  # the error's type only: its text (in the log) may quote URLs or SQL parameters
            kind = pub.last_error.split(":", 1)[0]
            return json_response(Health(status=f"degraded: snapshot publish failing ({kind}); see the log",
                                        snapshot_version=pub.version), 503)
        if health.reason():
            return json_response(Health(status=f"degraded: {health.reason()}", snapshot_version=pub.version), 503)
        return json_response(Health(status="ok", snapshot_version=pub.version))

    metrics_networks = tuple(ipaddress.ip_network(c, strict=False) for c in settings.metrics_networks)

    async def metrics_page(request: Request) -> Response:
        if not metrics_allowed(request.client_ip, request.get_first_header(b"authorization"), metrics_networks,
                               settings.metrics_token):
            return error_response(403, "/metrics answers only DF_METRICS_NETWORKS (loopback by default) or "
                                  "Authorization: Bearer $DF_METRICS_TOKEN")
        return Response(200, None, Content(b"text/plain; version=0.0.4; charset=utf-8", metrics.render()))

    async def openapi_json(_: Request) -> Response:
        return Response(200, None, Content(b"application/json", openapi))

    app.router.add_get("/healthz", plain(healthz))
    app.router.add_get("/readyz", plain(readyz))
    app.router.add_get("/metrics", plain(metrics_page))
    app.router.add_get("/api/openapi.json", plain(openapi_json))
    app.router.fallback = metrics.timed("unmatched", "*", plain(not_found))
    return app
