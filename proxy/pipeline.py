"""One chat-completions request: authenticate -> validate -> route -> relay.

Orchestration only. Auth, validation and routing are pure functions over the
current snapshot index (read once per request); the only awaits are the body
read, the upstream call and, in the edge, the client writes.
"""

from __future__ import annotations

import itertools
import logging
import os
import time

import orjson

from proxy.auth import authenticate, bearer_token, check_access, client_ip
from proxy.edge import Headers, Receive, read_json_body
from proxy.errors import GatewayError, MarketUnavailable, NotFound, RateLimited, Unauthorized
from proxy.limits.admission import Admission, guard_ip
from proxy.limits.ipguard import IpGuard
from proxy.limits.limiter import Limiter, retry_headers
from proxy.limits.tokens import usage_total
from proxy.reply import Reply, error_reply
from proxy.settings import ProxySettings
from proxy.snapshot.index import ListingEntry, Network
from proxy.snapshot.store import SnapshotStore
from proxy.upstream.client import UpstreamClient
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


def all_capped(model: str) -> RateLimited:
    return RateLimited(f"Every listing for '{model}' is at its seller's capacity (requests per minute or "
                       "concurrent requests). Retry after 1s.", 1.0, retry_headers(1.0))


def no_route(model: str) -> MarketUnavailable:
    return MarketUnavailable(
        f"No seller is currently offering '{model}': 0 active listings. Retry later or choose another model."
    )


class ChatPipeline:
    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...], limiter: Limiter | None = None,
                 ip_guard: IpGuard | None = None) -> None:
        self._settings = settings
        self._limiter = limiter
        self._ip_guard = ip_guard
        self._store = store
        self._upstream = upstream
        self._hash_secret = derive_hash_secret(settings.secret_key)
        self._trusted = trusted

    async def handle(self, headers: Headers, peer: str, receive: Receive) -> Reply:
        request_id = new_request_id()
        rid = request_id.encode()
        limits: list[Admission] = []  # set once the key is known: errors after it carry the rate headers
        try:
            return await self._handle(headers, peer, receive, rid, limits)
        except GatewayError as exc:
            extra = exc.headers if isinstance(exc, RateLimited) else []
            if limits:  # not served: the token reservation and listing slot go back
                limits[0].finish(0)
                if not any(name == b"x-ratelimit-limit" for name, _ in extra):
                    extra = limits[0].headers() + extra
            return error_reply(exc.status, exc.message, rid, extra)
        except Exception:  # the handler boundary: never a bare 500 page
            if limits:
                limits[0].finish(0)
            log.exception("unhandled error in request %s", request_id)
            return error_reply(500, f"Internal error. Retry with backoff; quote request id {request_id}.", rid)

    async def _handle(self, headers: Headers, peer: str, receive: Receive, rid: bytes,
                      limits: list[Admission]) -> Reply:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        forwarded = headers.get(b"x-forwarded-for")
        ip = client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        now = time.time()
        authorization = headers.get(b"authorization")
        try:
            token = bearer_token(authorization.decode("latin-1") if authorization else None)
            entry = authenticate(token, index, self._hash_secret, now)
        except Unauthorized:  # a 401 flood from one IP turns into cheap 429s; valid keys there still work
            guard_ip(self._ip_guard, ip, now)
            raise
        adm = None
        if self._limiter is not None:  # limits before the body is read: a flood from one key is cut here
            adm = Admission(self._limiter, index.accounts[entry.key.account_id], index.plans)
            await adm.admit()
            limits.append(adm)
        body = await read_json_body(headers, receive, self._settings.max_body_bytes)
        chat = parse_chat(body)
        if chat.model not in index.models:
            raise NotFound(f"Model '{chat.model}' does not exist. GET /v1/models lists the available models.")
        check_access(entry, ip, chat.model)
        if adm is not None:
            await adm.reserve(len(body), chat.max_completion_tokens or chat.max_tokens,
                              self._settings.limits_default_max_tokens)
        candidates = index.listings.get(chat.model)
        if not candidates:
            raise no_route(chat.model)
        listing = candidates[0]
        if adm is not None and not await adm.take_listing(listing.listing):
            raise all_capped(chat.model)
        if listing.listing.upstream_model != chat.model:
            body = rewrite_model(body, listing.listing.upstream_model)
        out = [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers]
        if adm is None:
            return await (self._relay_stream if chat.stream else self._relay_json)(listing, body, out)
        out += adm.headers()
        if chat.stream:
            reply = await self._relay_stream(listing, body, out)
            assert reply.stream is not None
            reply.stream = adm.metered(reply.stream)
            return reply
        reply = await self._relay_json(listing, body, out)
        adm.finish(usage_total(reply.body))
        return reply

    def _upstream_headers(self, listing: ListingEntry) -> list[tuple[str, str]]:
        return [("authorization", listing.auth_header), ("content-type", "application/json")]

    async def _relay_json(self, listing: ListingEntry, body: bytes, headers: list[tuple[bytes, bytes]]) -> Reply:
        provider = listing.listing.provider
        status, data, content_type = await self._upstream.post_json(
            listing.chat_url, self._upstream_headers(listing), body, provider
        )
        if status >= 300:
            raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
        return Reply(status=200, content_type=content_type.encode(), headers=headers, body=data)

    async def _relay_stream(self, listing: ListingEntry, body: bytes, headers: list[tuple[bytes, bytes]]) -> Reply:
        provider = listing.listing.provider
        stream = await self._upstream.open_stream(
            listing.chat_url, self._upstream_headers(listing), body, provider
        )
        if stream.status >= 300:
            try:
                data = await stream.read_all(ERROR_BODY_LIMIT)
            except GatewayError:
                data = b""
            finally:
                await stream.close()
            raise upstream_failure(stream.status, data, provider)
        content_type = (stream.header("content-type") or "text/event-stream").encode()
        if content_type.startswith(_SSE):
            headers.extend(_SSE_HEADERS)
        return Reply(status=200, content_type=content_type, headers=headers, stream=relay_chunks(stream))
