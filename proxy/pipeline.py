"""One inference request: authenticate -> validate -> route -> reserve -> attempts -> relay -> meter.

Serves every endpoint of `proxy.endpoints` (chat completions, Anthropic messages, embeddings,
speech, transcriptions) with one flow; what differs per endpoint and per seller format (URL,
headers, body translation, stream translation, error shape) is decided by `proxy.exchange`.
Orchestration only. Auth, validation and routing are pure functions over the current
snapshot index (read once per request) and this worker's in-memory live stats; the only
awaits are the body read, the upstream attempts (`proxy.market`: fallback before the
first byte, deadline, hedging) and, in the edge, the client writes. Market-only routing
requires the account's accepted Trading Terms (403). Billing (when on): the request's
maximum cost, at the costliest listing it may be sent to, is reserved before any upstream
call (402 otherwise); exactly one usage event per admitted request is handed to the shipper
when the response ends, for the listing that answered — "failed" (nothing billed) if no
answer reached the buyer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from proxy.auth import api_key, authenticate, bearer_token, client_ip
from proxy.billing.anthropic_meter import normalised_usage
from proxy.billing.audio import AudioProbe
from proxy.billing.bounds import json_bounds, upload_bounds
from proxy.billing.gate import Billing
from proxy.billing.metering import Meter
from proxy.billing.reserve import reserve
from proxy.cost_fields import check_costs
from proxy.edge import Headers, Receive, read_json_body
from proxy.endpoints import CHAT, Endpoint, View
from proxy.errors import (
    BodyTooLarge,
    GatewayError,
    ListingBusy,
    MarketUnavailable,
    RateLimited,
    Unauthorized,
    UpstreamError,
)
from proxy.exchange import Exchange, cap_max_tokens, prepare, rewrite_body, streams
from proxy.limits.admission import Admission, guard_ip
from proxy.limits.ipguard import IpGuard
from proxy.limits.limiter import Limiter
from proxy.limits.slots import Slots
from proxy.limits.tokens import usage_total
from proxy.market import Answered, MarketRun
from proxy.planner import Plan, Planner, all_capped, no_caps
from proxy.reply import Reply, anthropic_error_reply, error_reply
from proxy.request_ids import account_bound_id, new_request_id
from proxy.routing.budget import RetryBudget
from proxy.routing.headers import RouteHeaders, parse_route_headers
from proxy.routing.stats import StatsBook
from proxy.settings import ProxySettings
from proxy.snapshot.index import KeyEntry, ListingEntry, Network, RoutingIndex
from proxy.snapshot.store import SnapshotStore
from proxy.upload import Upload
from proxy.upstream.client import UpstreamClient, UpstreamStream
from proxy.upstream.relay import ERROR_BODY_LIMIT, relay_chunks, relay_translated, upstream_failure
from proxy.validation import ChatRequest
from wire.secret_keys import request_id_secret

log = logging.getLogger("dragonfly.proxy")
_SSE = b"text/event-stream"
_SSE_HEADERS = ((b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"))
Out = list[tuple[bytes, bytes]]


def requested_output(view: object) -> int | None:
    """The completion budget a request asks for (chat: max_completion_tokens/max_tokens)."""
    return getattr(view, "max_completion_tokens", None) or getattr(view, "max_tokens", None)


@dataclass(slots=True)
class _Opened:
    """A streamed upstream answer whose first body chunk has arrived."""

    stream: UpstreamStream
    first: bytes
    content_type: bytes
    exchange: Exchange


async def _close_opened(opened: _Opened) -> None:
    await opened.stream.close()


async def _drop_json(_: tuple[int, bytes, str, Exchange]) -> None:
    return None


class ChatPipeline:
    """The inference pipeline of every endpoint (named for the first one it served)."""

    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...], book: StatsBook | None = None,
                 budget: RetryBudget | None = None, capped: Callable[[], frozenset[str]] = no_caps,
                 limiter: Limiter | None = None, ip_guard: IpGuard | None = None,
                 billing: Billing | None = None) -> None:
        self._settings = settings
        self._billing = billing
        self._limiter = limiter
        self._ip_guard = ip_guard
        self._store = store
        self._upstream = upstream
        self._hash_secret = settings.key_hash_secret
        self._id_secret = request_id_secret(settings.key_hash_secret)
        self._trusted = trusted
        self.book = book or StatsBook()
        self.budget = budget or RetryBudget()
        self._planner = Planner(self.book, capped, settings.route_deadline_s,
                                limiter.capped_wait if limiter is not None else None)

    async def handle(self, headers: Headers, peer: str, receive: Receive, endpoint: Endpoint = CHAT) -> Reply:
        rids = [new_request_id().encode()]  # billed requests get an id naming their account (`_handle`)
        errors = anthropic_error_reply if endpoint.dialect == "anthropic" else error_reply
        limits: list[Admission] = []  # set once the key is known: errors after it carry the rate headers
        try:
            return await self._handle(headers, peer, receive, rids, endpoint, limits)
        except GatewayError as exc:
            extra = exc.headers if isinstance(exc, RateLimited) else []
            if limits:  # not served: the token reservation and listing place go back
                limits[0].finish(0)
                if not any(name == b"x-ratelimit-limit" for name, _ in extra):
                    extra = limits[0].headers() + extra
            return errors(exc.status, exc.message, rids[-1], extra)
        except Exception:  # the handler boundary: never a bare 500 page
            if limits:
                limits[0].finish(0)
            rid = rids[-1].decode()
            log.exception("unhandled error in request %s", rid)
            return errors(500, f"Internal error. Retry with backoff; quote request id {rid}.", rids[-1])

    async def _handle(self, headers: Headers, peer: str, receive: Receive, rids: list[bytes], endpoint: Endpoint,
                      limits: list[Admission]) -> Reply:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        now = time.time()
        authorization = headers.get(b"authorization")
        try:
            if endpoint.dialect == "anthropic":
                token = api_key(headers.get(b"x-api-key"), authorization)
            else:
                token = bearer_token(authorization.decode("latin-1") if authorization else None)
            entry = authenticate(token, index, self._hash_secret, now)
        except Unauthorized:  # a 401 flood from one IP turns into cheap 429s; valid keys there still work
            guard_ip(self._ip_guard, self._client_ip(headers, peer), now)
            raise
        if self._billing is not None:
            rids.append(account_bound_id(self._id_secret, entry.key.account_id).encode())
        rid = rids[-1]
        adm = None
        if self._limiter is not None:  # limits before the body is read: a flood from one key is cut here
            adm = Admission(self._limiter, index.accounts[entry.key.account_id], index.plans, entry.key)
            if adm.limited:  # unlimited accounts skip the buckets (seller caps still apply, per attempt)
                await adm.admit()
            limits.append(adm)
        route_headers = parse_route_headers(headers)
        if endpoint.parse is None:
            return await self._upload(headers, peer, receive, rid, endpoint, index, entry, route_headers, adm)
        body = await read_json_body(headers, receive, self._settings.max_body_bytes)
        view = endpoint.parse(body)
        check_costs(view, headers.get(b"anthropic-beta"))  # unpriced cost-raising fields: 400
        view.model = index.canonical(view.model)  # an alias routes, is checked and billed as its model
        asked_output = requested_output(view)  # rate limits: DF_LIMITS_DEFAULT_MAX_TOKENS when none is asked
        if isinstance(view, ChatRequest):
            found = index.models.get(view.model)
            body = cap_max_tokens(body, view, found.max_output_tokens if found is not None else 0)
        plan = self._plan(index, entry, view.model, endpoint, headers, peer, route_headers)
        out_extra: Out = [(b"request-id", rid)] if endpoint.dialect == "anthropic" else []
        if adm is not None and adm.limited:
            await adm.reserve(len(body), asked_output, self._settings.limits_default_max_tokens)
            out_extra += adm.headers()

        meter = await self._reserve(index, entry, view, plan, len(body), rid.decode())
        add_usage = meter is not None and isinstance(view, ChatRequest) and bool(view.stream) and not (
            view.stream_options is not None and view.stream_options.include_usage)  # metering needs usage

        def exchange_for(listing: ListingEntry) -> Exchange:
            exchange = prepare(endpoint, view, body, listing, headers)
            if add_usage and exchange.translator is None and listing.listing.api_format == "openai":
                exchange.body = rewrite_body(exchange.body, None, include_usage=True)
            return exchange

        try:
            if streams(endpoint, view):
                reply = await self._stream(plan, exchange_for, rid, out_extra, adm, meter, add_usage)
                if adm is not None and reply.stream is not None and (adm.needs_usage or adm.hold is not True):
                    reply.stream = adm.metered(reply.stream)  # settles tokens / frees the seller slot at the end
                return reply
            reply = await self._json(plan, exchange_for, rid, out_extra, adm, meter)
        except UpstreamError as exc:
            if isinstance(exc, ListingBusy) or exc.kind == "capped":
                raise all_capped(view.model, self._capped_wait(plan)) from None
            raise
        finally:
            if meter is not None:
                meter.end_failed()  # no answer reached the buyer (a no-op once the relay has metered)
        if adm is not None:
            adm.finish(usage_total(reply.body) if adm.needs_usage else None)
        return reply

    async def _reserve(self, index: RoutingIndex, entry: KeyEntry, view: View, plan: Plan, body_len: int,
                       request_id: str) -> Meter | None:
        """Reserve the request's maximum cost (402 if unaffordable); None when billing is off."""
        if self._billing is None:
            return None
        model = index.models[view.model]
        bounds = json_bounds(view, body_len, model.max_output_tokens or model.context_length, model.owned_by,
                             "reasoning" in model.capabilities)
        if bounds is None:
            return None
        tried = plan.candidates[: plan.policy.max_attempts]
        return await reserve(self._billing, request_id, entry.key, tried, plan.fees, bounds)

    def _capped_wait(self, plan: Plan) -> float:
        """Seconds until the earliest capped listing of the plan has room again."""
        return self._limiter.capped_wait(c.id for c in plan.candidates) if self._limiter is not None else 1.0

    def _client_ip(self, headers: Headers, peer: str) -> str:
        forwarded = headers.get(b"x-forwarded-for")
        return client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)

    @staticmethod
    async def _take(adm: Admission | None, listing: ListingEntry) -> Slots | bool:
        """A place under the listing's seller caps, or ListingBusy (the attempt moves on)."""
        entry = listing.listing
        if adm is None or (entry.rpm_limit is None and entry.concurrency_limit is None):
            return True
        hold = await adm.take_listing(entry)
        if hold is False:
            raise ListingBusy(f"Listing {listing.id} is at its seller's capacity.")
        return hold

    def _plan(self, index: RoutingIndex, entry: KeyEntry, model: str, endpoint: Endpoint, headers: Headers,
              peer: str, route_headers: RouteHeaders) -> Plan:
        return self._planner.plan(index, entry, model, endpoint, self._client_ip(headers, peer), route_headers)

    @staticmethod
    def _out(listing: ListingEntry, attempts: int, rid: bytes, extra: Out) -> Out:
        return [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers,
                (b"x-df-market-attempts", str(attempts).encode()), *extra]

    async def _json(self, plan: Plan, exchange_for: Callable[[ListingEntry], Exchange], rid: bytes,
                    extra: Out, adm: Admission | None, meter: Meter | None) -> Reply:
        async def go(listing: ListingEntry, answered: Answered) -> tuple[int, bytes, str, Exchange]:
            provider = listing.provider
            exchange = exchange_for(listing)
            hold = await self._take(adm, listing)
            try:  # the request's deadline runs until the headers (`answered`); the body is read under idle
                status, data, content_type = await self._upstream.post_json(
                    exchange.url, exchange.headers, exchange.body, provider, answered, ERROR_BODY_LIMIT)
                if status >= 300:
                    raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
            except BaseException:
                if adm is not None:
                    adm.drop_listing(hold)
                raise
            if adm is not None:
                adm.keep_listing(hold)
            return status, data, content_type, exchange

        run = MarketRun(self.book, self.budget, plan.peers, plan.policy, plan.deadline_s, go, _drop_json,
                        self._settings.first_byte_timeout_s, plan.deadline_name)
        listing, (_, data, content_type, exchange) = await run.run(plan.candidates)
        if meter is not None:
            meter.served_by(listing.listing, plan.fees_of(listing))
            meter.end_json(data, listing.listing.api_format)  # the upstream's body, before translation
        if exchange.translate_json is not None:
            data, content_type = exchange.translate_json(data), "application/json"
        return Reply(status=200, content_type=content_type.encode(), body=data, attempts=run.attempts,
                     headers=self._out(listing, len(run.attempts), rid, extra))

    async def _stream(self, plan: Plan, exchange_for: Callable[[ListingEntry], Exchange], rid: bytes,
                      extra: Out, adm: Admission | None, meter: Meter | None, strip_usage: bool) -> Reply:
        async def go(listing: ListingEntry, _: Answered) -> _Opened:  # answered: its first chunk, returned
            provider = listing.provider
            exchange = exchange_for(listing)
            hold = await self._take(adm, listing)
            try:
                stream = await self._upstream.open_stream(exchange.url, exchange.headers, exchange.body, provider)
            except BaseException:
                if adm is not None:
                    adm.drop_listing(hold)
                raise
            try:
                if stream.status >= 300:
                    try:
                        data = await stream.read_all(ERROR_BODY_LIMIT)
                    except GatewayError:
                        data = b""
                    raise upstream_failure(stream.status, data, provider)
                first = await stream.next_chunk()  # fallback stays possible until this arrives
                if first is None:
                    raise UpstreamError(f"Upstream provider '{provider}' ended the stream before any data.", "5xx")
            except BaseException:
                await stream.close()
                if adm is not None:
                    adm.drop_listing(hold)
                raise
            if adm is not None:
                adm.keep_listing(hold)
            content_type = (stream.header("content-type") or "text/event-stream").encode()
            return _Opened(stream, first, content_type, exchange)

        run = MarketRun(self.book, self.budget, plan.peers, plan.policy, plan.deadline_s, go, _close_opened,
                        self._settings.first_byte_timeout_s + self._settings.idle_timeout_s, plan.deadline_name)
        listing, opened = await run.run(plan.candidates)
        headers = self._out(listing, len(run.attempts), rid, extra)
        book, lid, peers = self.book, listing.id, plan.peers

        def on_end(events: int, seconds: float, failed: bool) -> None:
            if failed:
                book.record_failure(lid, (p.id for p in peers))
            elif events > 2 and seconds > 0.05:
                book.record_tps(lid, events / seconds)

        exchange, translator = opened.exchange, opened.exchange.translator
        tap, on_close = None, None
        if meter is not None:
            meter.served_by(listing.listing, plan.fees_of(listing))
            tap, on_close = meter.stream_tap(strip_usage, listing.listing.api_format), meter.end_stream
            if translator is not None:
                meter.translated_usage(lambda: normalised_usage(translator.usage))
        if translator is not None:
            headers.extend(_SSE_HEADERS)
            relay = relay_translated(opened.stream, translator, opened.first, on_end, tap, on_close)
            return Reply(status=200, content_type=b"text/event-stream; charset=utf-8", headers=headers,
                         stream=relay, attempts=run.attempts)
        if opened.content_type.startswith(_SSE):
            headers.extend(_SSE_HEADERS)
        return Reply(status=200, content_type=opened.content_type, headers=headers, attempts=run.attempts,
                     stream=relay_chunks(opened.stream, opened.first, on_end, exchange.stream_error, tap, on_close))

    async def _upload(self, headers: Headers, peer: str, receive: Receive, rid: bytes, endpoint: Endpoint,
                      index: RoutingIndex, entry: KeyEntry, route_headers: RouteHeaders,
                      adm: Admission | None) -> Reply:
        """A multipart upload (transcriptions): route on the form head, stream the rest upstream.

        The body is streamed once, so there is no fallback: the first ranked candidate serves it."""
        limit = self._settings.max_upload_bytes
        upload = Upload(headers, receive, limit)
        await upload.read_head()
        model = index.canonical(upload.head.fields["model"])
        plan = self._plan(index, entry, model, endpoint, headers, peer, route_headers)
        listing = plan.candidates[0]
        if adm is not None:
            await adm.reserve(0, None, self._settings.limits_default_max_tokens)
            hold = await adm.take_listing(listing.listing)
            if hold is False:
                raise all_capped(model, self._capped_wait(plan))
            adm.keep_listing(hold)
        meter, probe = None, AudioProbe()
        if self._billing is not None:  # seconds of audio at most: from Content-Length, else the limit
            declared = headers.get(b"content-length")
            bounds = upload_bounds(int(declared) if declared else None, limit)
            meter = await reserve(self._billing, rid.decode(), entry.key, (listing,), plan.fees, bounds)
        content_type = (headers.get(b"content-type") or b"").decode("latin-1")
        upstream_headers = [("authorization", listing.auth_header), ("content-type", content_type)]
        provider = listing.provider
        try:
            status, data, ctype = await self._upstream.post_upload(
                listing.listing.base_url + endpoint.upstream_path, upstream_headers,
                upload.chunks(listing.listing.upstream_model, probe.feed if meter else None), provider)
            if status >= 300:
                raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
            if meter is not None:
                meter.served_by(listing.listing, plan.fees_of(listing))
                meter.end_transcription(data, probe)
        except GatewayError:
            if upload.too_large:
                raise BodyTooLarge(f"Upload is larger than the {limit:,}-byte limit. "
                                   "Send a smaller audio file.") from None
            raise
        finally:
            if meter is not None:
                meter.end_failed()  # nothing reached the buyer (a no-op once metered)
        extra: Out = []
        if adm is not None:
            adm.finish(usage_total(data))
            extra = adm.headers()
        return Reply(status=200, content_type=ctype.encode(), body=data, headers=self._out(listing, 1, rid, extra))
