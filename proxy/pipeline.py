"""One chat-completions request: authenticate -> validate -> route -> attempts -> relay.

Orchestration only. Auth, validation and routing are pure functions over the
current snapshot index (read once per request) and this worker's in-memory live
stats; the only awaits are the body read, the upstream attempts (`proxy.market`:
fallback before the first byte, deadline, hedging) and, in the edge, the client
writes. Market-only routing requires the account's accepted Trading Terms (403).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
from collections.abc import Callable

import orjson

from proxy.auth import authenticate, bearer_token, check_access, client_ip
from proxy.edge import Headers, Receive, read_json_body
from proxy.errors import Forbidden, GatewayError, MarketUnavailable, NotFound, UpstreamError
from proxy.market import MarketRun
from proxy.reply import Reply, error_reply
from proxy.routing.budget import RetryBudget
from proxy.routing.headers import NO_HEADERS, parse_route_headers
from proxy.routing.policy import DEFAULT_POLICY, Policy, refine
from proxy.routing.rank import explain, rank
from proxy.routing.stats import StatsBook
from proxy.routing.sticky import sticky_first
from proxy.settings import ProxySettings
from proxy.snapshot.index import ListingEntry, Network
from proxy.snapshot.store import SnapshotStore
from proxy.upstream.client import UpstreamClient, UpstreamStream
from proxy.upstream.relay import ERROR_BODY_LIMIT, relay_chunks, upstream_failure
from proxy.validation import parse_chat
from wire.keys import derive_hash_secret

log = logging.getLogger("dragonfly.proxy")
_SSE = b"text/event-stream"
_SSE_HEADERS = ((b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"))


class RequestIds:
    """UUID-shaped request ids: a random per-process prefix plus a counter (no syscall per request)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        p, c = self._prefix, f"{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"
        return f"{p[:8]}-{p[8:12]}-4{p[13:16]}-{c[:4]}-{c[4:]}"


_ids = RequestIds()


def new_request_id() -> str:
    return _ids.next()


def rewrite_model(body: bytes, upstream_model: str) -> bytes:
    """The body with `model` set to the seller's upstream name; every other field untouched."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:  # numbers orjson cannot hold (e.g. > 64-bit ints)
        raise GatewayError("Request body could not be re-encoded for the upstream.") from None
    doc["model"] = upstream_model
    return orjson.dumps(doc)


_NO_CAPS: frozenset[str] = frozenset()


def no_caps() -> frozenset[str]:
    """Listings at their seller's rpm/concurrency cap: none here; issue 6 supplies the real set."""
    return _NO_CAPS


def terms_required() -> Forbidden:
    return Forbidden(
        "Market routing (Routing-Strategy: market-only) requires accepting the Trading Terms. "
        "Accept them with POST /api/account/trading-terms (logged in), then retry."
    )


class _Opened:
    """A streamed upstream answer whose first body chunk has arrived."""

    __slots__ = ("stream", "first", "content_type")

    def __init__(self, stream: UpstreamStream, first: bytes, content_type: bytes) -> None:
        self.stream, self.first, self.content_type = stream, first, content_type


async def _close_opened(opened: _Opened) -> None:
    await opened.stream.close()


async def _drop_json(_: tuple[int, bytes, str]) -> None:
    return None


class ChatPipeline:
    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...], book: StatsBook | None = None,
                 budget: RetryBudget | None = None, capped: Callable[[], frozenset[str]] = no_caps) -> None:
        self._settings = settings
        self._store = store
        self._upstream = upstream
        self._hash_secret = derive_hash_secret(settings.secret_key)
        self._trusted = trusted
        self.book = book or StatsBook()
        self.budget = budget or RetryBudget()
        self.capped = capped  # issue 6 (seller caps) passes its own
        self._rand = random.Random()
        self._deadline_s = settings.route_deadline_s

    async def handle(self, headers: Headers, peer: str, receive: Receive) -> Reply:
        request_id = new_request_id()
        rid = request_id.encode()
        try:
            return await self._handle(headers, peer, receive, rid)
        except GatewayError as exc:
            return error_reply(exc.status, exc.message, rid)
        except Exception:  # the handler boundary: never a bare 500 page
            log.exception("unhandled error in request %s", request_id)
            return error_reply(500, f"Internal error. Retry with backoff; quote request id {request_id}.", rid)

    async def _handle(self, headers: Headers, peer: str, receive: Receive, rid: bytes) -> Reply:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        authorization = headers.get(b"authorization")
        token = bearer_token(authorization.decode("latin-1") if authorization else None)
        entry = authenticate(token, index, self._hash_secret, time.time())
        route_headers = parse_route_headers(headers)
        body = await read_json_body(headers, receive, self._settings.max_body_bytes)
        chat = parse_chat(body)
        if chat.model not in index.models:
            raise NotFound(f"Model '{chat.model}' does not exist. GET /v1/models lists the available models.")
        forwarded = headers.get(b"x-forwarded-for")
        ip = client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        check_access(entry, ip, chat.model)
        account = index.accounts.get(entry.key.account_id)
        if account is None or not account.trading_terms_accepted:
            raise terms_required()
        listings = index.listings.get(chat.model, ())
        profile_id = entry.key.routing_profile_id
        policy = index.policies.get(profile_id, DEFAULT_POLICY) if profile_id else DEFAULT_POLICY
        if route_headers is not NO_HEADERS:
            policy = refine(policy, route_headers)
        book = self.book
        ranking = rank(listings, policy, book.health, index.stats, self.capped(), book.clock(),
                       book.unavailable, self._rand.random())
        candidates = ranking.candidates
        if not candidates:
            raise MarketUnavailable(explain(chat.model, len(listings), ranking.excluded, policy))
        if policy.session_id is not None:
            candidates = sticky_first(candidates, policy.session_id)
        deadline = policy.deadline_ms / 1000 if policy.deadline_ms else self._deadline_s
        if chat.stream:
            return await self._stream(candidates, listings, policy, deadline, body, chat.model, rid)
        return await self._json(candidates, listings, policy, deadline, body, chat.model, rid)

    def _out(self, listing: ListingEntry, attempts: int, rid: bytes) -> list[tuple[bytes, bytes]]:
        return [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers,
                (b"x-df-market-attempts", str(attempts).encode())]

    @staticmethod
    def _body_for(listing: ListingEntry, body: bytes, model: str) -> bytes:
        upstream = listing.listing.upstream_model
        return body if upstream == model else rewrite_model(body, upstream)

    @staticmethod
    def _upstream_headers(listing: ListingEntry) -> list[tuple[str, str]]:
        return [("authorization", listing.auth_header), ("content-type", "application/json")]

    async def _json(self, candidates: tuple[ListingEntry, ...], peers: tuple[ListingEntry, ...], policy: Policy,
                    deadline: float, body: bytes, model: str, rid: bytes) -> Reply:
        async def go(listing: ListingEntry) -> tuple[int, bytes, str]:
            provider = listing.provider
            answer = await self._upstream.post_json(listing.chat_url, self._upstream_headers(listing),
                                                    self._body_for(listing, body, model), provider)
            if answer[0] >= 300:
                raise upstream_failure(answer[0], answer[1][:ERROR_BODY_LIMIT], provider)
            return answer

        run = MarketRun(self.book, self.budget, peers, policy, deadline, go, _drop_json)
        listing, (_, data, content_type) = await run.run(candidates)
        headers = self._out(listing, len(run.attempts), rid)
        return Reply(status=200, content_type=content_type.encode(), headers=headers, body=data,
                     attempts=run.attempts)

    async def _stream(self, candidates: tuple[ListingEntry, ...], peers: tuple[ListingEntry, ...], policy: Policy,
                      deadline: float, body: bytes, model: str, rid: bytes) -> Reply:
        async def go(listing: ListingEntry) -> _Opened:
            provider = listing.provider
            stream = await self._upstream.open_stream(listing.chat_url, self._upstream_headers(listing),
                                                      self._body_for(listing, body, model), provider)
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
                raise
            content_type = (stream.header("content-type") or "text/event-stream").encode()
            return _Opened(stream, first, content_type)

        run = MarketRun(self.book, self.budget, peers, policy, deadline, go, _close_opened)
        listing, opened = await run.run(candidates)
        headers = self._out(listing, len(run.attempts), rid)
        if opened.content_type.startswith(_SSE):
            headers.extend(_SSE_HEADERS)
        book, lid = self.book, listing.id

        def on_end(events: int, seconds: float, failed: bool) -> None:
            if failed:
                book.record_failure(lid, (p.id for p in peers))
            elif events > 2 and seconds > 0.05:
                book.record_tps(lid, events / seconds)

        return Reply(status=200, content_type=opened.content_type, headers=headers,
                     stream=relay_chunks(opened.stream, opened.first, on_end), attempts=run.attempts)
