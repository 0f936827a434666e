"""Composition root: builds every object of the proxy, the route table and background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable

import coredis
import orjson
from blacksheep import Application, Content, Request, Response

from proxy.billing.credit import RedisCredit
from proxy.billing.gate import Billing
from proxy.billing.journal import InflightJournal
from proxy.billing.lease_sync import LeaseSync
from proxy.billing.leases import CreditBook
from proxy.billing.shipper import UsageShipper
from proxy.billing.spool import Spool, scoped_dir
from proxy.edge import Receive, Scope, Send, header_map, send_reply
from proxy.endpoints import ENDPOINTS
from proxy.exposure import admin_path, metrics_allowed, networks
from proxy.forward import FORWARDED_PREFIXES, ControlPlaneForwarder
from proxy.limits.ipguard import IpGuard
from proxy.limits.limiter import Limiter
from proxy.limits.redis_sync import RedisLimitSync
from proxy.metrics import Metrics
from proxy.pipeline import ChatPipeline
from proxy.planner import no_caps
from proxy.probe.worker import ProbeWorker
from proxy.redis_client import open_redis
from proxy.request_ids import new_request_id
from proxy.responses import error_response
from proxy.routing.stats import StatsBook
from proxy.settings import ProxySettings
from proxy.snapshot.index import Network
from proxy.snapshot.redis_source import RedisSnapshotSource
from proxy.snapshot.source import FileSnapshotSource, SnapshotSource
from proxy.snapshot.store import SnapshotStore
from proxy.snapshot.unseal import Unsealer
from proxy.stats_report import StatsReporter
from proxy.upstream.client import UpstreamClient

_JSON = b"application/json"
log = logging.getLogger("dragonfly.proxy")


def _trusted_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
    except ValueError as exc:
        raise SystemExit(f"DF_TRUSTED_PROXIES: {exc}") from exc


def make_source(settings: ProxySettings, store: SnapshotStore, unsealer: Unsealer) -> SnapshotSource:
    if settings.snapshot_file:
        return FileSnapshotSource(settings.snapshot_file, store, settings.snapshot_poll_s, unsealer)
    return RedisSnapshotSource(settings.redis_url, settings.redis_prefix, store, settings.snapshot_poll_s, unsealer)


def make_billing(settings: ProxySettings) -> Billing | None:
    """Billing on when a billing Redis is configured; the shipper's task owns the client."""
    if not settings.billing_redis_url:
        return None

    def connect() -> coredis.Redis[bytes]:
        return open_redis(
            settings.billing_redis_url, connect_timeout=settings.billing_redis_timeout_s,
            stream_timeout=settings.billing_redis_timeout_s)

    credit = RedisCredit(settings.redis_prefix)
    usage_dir = scoped_dir(settings.usage_spool_dir, settings.billing_redis_url, settings.redis_prefix)
    shipper = UsageShipper(credit, Spool(usage_dir, settings.usage_spool_max_bytes), settings.usage_flush_ms / 1000,
                           connect, journal=InflightJournal(usage_dir))
    book = CreditBook(settings.redis_prefix, settings.billing_wait_s, settings.billing_lease_max_micro_usd)
    return Billing(book, shipper, settings.offline_allowance_micro_usd)


def make_lease_sync(settings: ProxySettings, billing: Billing) -> LeaseSync:
    return LeaseSync(settings.billing_redis_url, settings.redis_prefix, billing.book, settings.billing_sync_s,
                     settings.billing_redis_timeout_s)


def make_limits(settings: ProxySettings) -> tuple[Limiter | None, RedisLimitSync | None]:
    """The limiter (None with DF_LIMITS=0) and, when Redis is configured, its background sync."""
    if not settings.limits_enabled:
        return None, None
    limiter = Limiter(settings.limits_window_s, settings.limits_wait_s, settings.limits_min_replicas,
                      standalone=not settings.limits_redis_url,
                      lease_ttl_s=max(settings.limits_lease_s, 2 * settings.limits_redis_timeout_s),
                      day_offset_s=settings.limits_day_offset_s)
    if not settings.limits_redis_url:
        return limiter, None
    return limiter, RedisLimitSync(settings.limits_redis_url, settings.redis_prefix, limiter,
                                   settings.limits_sync_s, settings.limits_redis_timeout_s)


def limits_status(limiter: Limiter | None) -> dict[str, object]:
    if limiter is None:
        return {"mode": "off"}
    mode = "standalone" if limiter.standalone else "degraded" if limiter.degraded else "redis"
    return {"mode": mode, "replicas": limiter.replicas}


class HotPath:
    """The ASGI app the server runs: the inference endpoints (`proxy.endpoints.ENDPOINTS`: chat
    completions, messages, embeddings, audio) on the raw edge, the rest through BlackSheep."""

    __slots__ = ("_chat", "_app", "_counts", "_metrics")

    def __init__(self, chat: ChatPipeline, app: Application, metrics: Metrics) -> None:
        self._chat = chat
        self._app = app
        self._counts = metrics.requests
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = ENDPOINTS.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is not None and scope["method"] == "POST":
            client = scope.get("client")
            t0 = time.perf_counter()
            reply = await self._chat.handle(header_map(scope), client[0] if client else "", receive, endpoint)
            self._counts[reply.status] += 1
            try:
                await send_reply(send, receive, reply)
            finally:
                attempts = reply.attempts
                answered = attempts[-1].listing_id if attempts and attempts[-1].outcome == "ok" else None
                self._metrics.request_end(answered, len(attempts), time.perf_counter() - t0)
            return
        await self._app(scope, receive, send)


def create_app(settings: ProxySettings) -> HotPath:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Application(show_error_details=False)
    store = SnapshotStore()
    limiter, limit_sync = make_limits(settings)
    metrics = Metrics(store, limiter, limit_sync, settings.metrics_listings)
    unsealer = Unsealer(settings.seal_keys)
    source = make_source(settings, store, unsealer)
    upstream = UpstreamClient(settings)
    billing = make_billing(settings)
    book = StatsBook(consecutive=settings.eject_consecutive, base_eject_s=settings.eject_base_s,
                     max_eject_s=settings.eject_max_s)
    ip_guard = IpGuard(settings.unauth_ip_per_min) if settings.limits_enabled else None
    chat = ChatPipeline(settings, store, upstream, _trusted_networks(settings.trusted_proxies), book=book,
                        limiter=limiter, ip_guard=ip_guard, billing=billing,
                        capped=limiter.capped_listings if limiter is not None else no_caps)
    metrics.attach_routing(book, chat.budget)
    if billing is not None:
        metrics.attach_billing(billing)
    tasks: list[asyncio.Task[None]] = []
    trusted = _trusted_networks(settings.trusted_proxies)
    forwarder = ControlPlaneForwarder(settings.control_plane_url, settings.connect_timeout_s,
                                      settings.control_plane_timeout_s, trusted=trusted,
                                      max_body_bytes=settings.control_plane_max_body_bytes,
                                      read_timeout_s=settings.body_read_timeout_s)
    metrics_networks = networks(settings.metrics_networks, "DF_METRICS_NETWORKS")

    async def models(request: Request) -> Response:
        index = store.current()
        body = index.models_json if index else b'{"object":"list","data":[]}'
        return Response(200, [(b"x-request-id", new_request_id().encode())], Content(_JSON, body))

    async def healthz(request: Request) -> Response:
        return Response(200, [(b"x-request-id", new_request_id().encode())], Content(b"text/plain", b"ok"))

    async def readyz(request: Request) -> Response:
        index = store.current()
        ready = index is not None
        status = {
            "ready": ready,
            "snapshot_version": index.version if index else None,
            "snapshot_age_s": round(time.time() - store.swapped_at, 3) if ready else None,
            "source": "file" if settings.snapshot_file else "redis",
            "source_reachable": store.stale_since is None,
            "stale_since": store.stale_since,
            "counts": index.counts if index else {},
            "limits": limits_status(limiter),
        }
        return Response(200 if ready else 503, [(b"x-request-id", new_request_id().encode())],
                        Content(_JSON, orjson.dumps(status)))

    async def not_found(request: Request) -> Response:
        path = request.path
        return error_response(404, f"No such endpoint: {request.method} {path}. See /v1/models and the API docs.",
                              new_request_id().encode())

    async def prometheus(request: Request) -> Response:
        if not metrics_allowed(request.client_ip, request.get_first_header(b"authorization"), metrics_networks,
                               settings.metrics_token):
            return error_response(403, "/metrics answers only DF_METRICS_NETWORKS (loopback by default) or "
                                  "Authorization: Bearer $DF_METRICS_TOKEN.", new_request_id().encode())
        return Response(200, [(b"x-request-id", new_request_id().encode())],
                        Content(b"text/plain; version=0.0.4; charset=utf-8", metrics.render()))

    async def fallback(request: Request) -> Response:
        if request.path.startswith(FORWARDED_PREFIXES):
            if admin_path(request.path) and not settings.forward_admin:
                return error_response(404, "The operator API (/api/admin/*) is served only on the control "
                                      "plane's own port (set DF_FORWARD_ADMIN=1 on the proxy to forward it).",
                                      new_request_id().encode())
            return await forwarder.forward(request, new_request_id())
        return await not_found(request)

    async def crashed(application: Application, request: Request, exc: Exception) -> Response:
        request_id = new_request_id()
        log.error("unhandled error in request %s: %r", request_id, exc)
        return error_response(500, f"Internal error. Retry with backoff; quote request id {request_id}.",
                              request_id.encode())

    app.router.add_get("/v1/models", models)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", prometheus)
    app.router.fallback = fallback
    app.exceptions_handlers[500] = crashed  # unhandled errors: the documented body, not a text page

    async def on_start(application: Application) -> None:
        await source.load_initial()
        gc.collect()
        gc.freeze()  # start-up objects and the first snapshot are long-lived: keep them out of GC passes
        tasks.append(asyncio.create_task(_guard("snapshot source", source.run)))  # noqa: TID251
        if billing is not None:
            billing.shipper.recover()  # before serving: what a killed worker left is replayed first
            tasks.append(asyncio.create_task(_guard("usage shipper", billing.shipper.run)))  # noqa: TID251
            lease_sync = make_lease_sync(settings, billing)
            tasks.append(asyncio.create_task(_guard("credit leases", lease_sync.run)))  # noqa: TID251
        if settings.redis_url:
            reporter = StatsReporter(settings.redis_url, settings.redis_prefix, book, settings.stats_report_s)
            tasks.append(asyncio.create_task(_guard("stats reporter", reporter.run)))  # noqa: TID251
            prober = ProbeWorker(settings.redis_url, settings.redis_prefix, upstream, Unsealer(settings.seal_keys),
                                 settings.probe_timeout_s)
            tasks.append(asyncio.create_task(_guard("admission probes", prober.run)))  # noqa: TID251
        if limit_sync is not None:
            tasks.append(asyncio.create_task(_guard("limit sync", limit_sync.run)))  # noqa: TID251
        tasks.append(asyncio.create_task(_guard("metrics sync", metrics_loop)))  # noqa: TID251

    async def metrics_loop() -> None:
        """Counters reach prometheus-client (and gauges the other workers) about once a second."""
        while True:
            await asyncio.sleep(1.0)
            if metrics.due():
                metrics.sync()

    async def on_stop(application: Application) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if billing is not None:
            with contextlib.suppress(Exception):
                await billing.shipper.flush_to_spool()  # the shipper's client is gone: keep what is buffered
        await upstream.close()
        await forwarder.close()

    app.on_start += on_start
    app.on_stop += on_stop
    return HotPath(chat, app, metrics)


async def _guard(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop forever; log and restart it if it crashes."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s crashed; restarting in 1s", name)
            await asyncio.sleep(1.0)
