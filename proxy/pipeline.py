"""One inference request: authenticate -> validate -> route -> relay.

Serves every endpoint of `proxy.endpoints` (chat completions, Anthropic messages, embeddings,
speech, transcriptions) with one flow; what differs per endpoint and per seller format (URL,
headers, body translation, stream translation, error shape) is decided by `proxy.exchange`.
Orchestration only. Auth, validation and routing are pure functions over the
current snapshot index (read once per request); the only awaits are the body
read, the upstream call and, in the edge, the client writes.
"""

from __future__ import annotations

import itertools
import logging
import os
import time

from proxy.auth import api_key, authenticate, bearer_token, check_access, client_ip
from proxy.edge import Headers, Receive, read_json_body
from proxy.endpoints import CAPABILITY_NAMES, CHAT, Endpoint, eligible
from proxy.errors import BadRequest, BodyTooLarge, GatewayError, MarketUnavailable, NotFound
from proxy.exchange import Exchange, prepare
from proxy.reply import Reply, anthropic_error_reply, error_reply
from proxy.settings import ProxySettings
from proxy.snapshot.index import KeyEntry, ListingEntry, Network, RoutingIndex
from proxy.snapshot.store import SnapshotStore
from proxy.upload import Upload
from proxy.upstream.client import UpstreamClient
from proxy.upstream.relay import ERROR_BODY_LIMIT, relay_chunks, relay_translated, upstream_failure
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


def no_route(model: str) -> MarketUnavailable:
    return MarketUnavailable(
        f"No seller is currently offering '{model}': 0 active listings. Retry later or choose another model."
    )


def check_capability(index: RoutingIndex, model: str, endpoint: Endpoint) -> None:
    """404 for an unknown model; 400 when the model cannot serve this endpoint at all."""
    found = index.models.get(model)
    if found is None:
        raise NotFound(f"Model '{model}' does not exist. GET /v1/models lists the available models.")
    if endpoint.capability not in found.capabilities:
        raise BadRequest(f"Model '{model}' does not support {CAPABILITY_NAMES[endpoint.capability]} "
                         f"(its capabilities: {', '.join(found.capabilities)}). GET /v1/models lists each "
                         "model's capabilities.")


class ChatPipeline:
    """The inference pipeline of every endpoint (named for the first one it served)."""

    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...]) -> None:
        self._settings = settings
        self._store = store
        self._upstream = upstream
        self._hash_secret = derive_hash_secret(settings.secret_key)
        self._trusted = trusted

    async def handle(self, headers: Headers, peer: str, receive: Receive, endpoint: Endpoint = CHAT) -> Reply:
        request_id = new_request_id()
        rid = request_id.encode()
        errors = anthropic_error_reply if endpoint.dialect == "anthropic" else error_reply
        try:
            return await self._handle(headers, peer, receive, rid, endpoint)
        except GatewayError as exc:
            return errors(exc.status, exc.message, rid)
        except Exception:  # the handler boundary: never a bare 500 page
            log.exception("unhandled error in request %s", request_id)
            return errors(500, f"Internal error. Retry with backoff; quote request id {request_id}.", rid)

    async def _handle(self, headers: Headers, peer: str, receive: Receive, rid: bytes, endpoint: Endpoint) -> Reply:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        authorization = headers.get(b"authorization")
        if endpoint.dialect == "anthropic":
            token = api_key(headers.get(b"x-api-key"), authorization)
        else:
            token = bearer_token(authorization.decode("latin-1") if authorization else None)
        entry = authenticate(token, index, self._hash_secret, time.time())
        if endpoint.parse is None:
            return await self._upload(headers, peer, receive, rid, endpoint, index, entry)
        body = await read_json_body(headers, receive, self._settings.max_body_bytes)
        view = endpoint.parse(body)
        check_capability(index, view.model, endpoint)
        forwarded = headers.get(b"x-forwarded-for")
        ip = client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        check_access(entry, ip, view.model)
        listing = self._route(index, view.model, endpoint)
        exchange = prepare(endpoint, view, body, listing, headers)
        out = [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers]
        if endpoint.dialect == "anthropic":
            out.append((b"request-id", rid))
        if exchange.stream:
            return await self._relay_stream(listing, exchange, out)
        return await self._relay_json(listing, exchange, out)

    def _route(self, index: RoutingIndex, model: str, endpoint: Endpoint) -> ListingEntry:
        """The listing to use: the cheapest active one that can serve the endpoint."""
        candidates = eligible(index.listings.get(model, ()), endpoint)
        if not candidates:
            raise no_route(model)
        return candidates[0]

    async def _upload(self, headers: Headers, peer: str, receive: Receive, rid: bytes, endpoint: Endpoint,
                      index: RoutingIndex, entry: KeyEntry) -> Reply:
        """A multipart upload (transcriptions): route on the form head, stream the rest upstream."""
        upload = Upload(headers, receive, self._settings.max_upload_bytes)
        await upload.read_head()
        model = upload.head.fields["model"]
        check_capability(index, model, endpoint)
        forwarded = headers.get(b"x-forwarded-for")
        ip = client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        check_access(entry, ip, model)
        listing = self._route(index, model, endpoint)
        content_type = (headers.get(b"content-type") or b"").decode("latin-1")
        upstream_headers = [("authorization", listing.auth_header), ("content-type", content_type)]
        provider = listing.listing.provider
        try:
            status, data, ctype = await self._upstream.post_upload(
                listing.listing.base_url + endpoint.upstream_path, upstream_headers,
                upload.chunks(listing.listing.upstream_model), provider)
        except GatewayError:
            if upload.too_large:
                raise BodyTooLarge(f"Upload is larger than the {self._settings.max_upload_bytes:,}-byte limit. "
                                   "Send a smaller audio file.") from None
            raise
        if status >= 300:
            raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
        out = [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers]
        return Reply(status=200, content_type=ctype.encode(), headers=out, body=data)

    async def _relay_json(self, listing: ListingEntry, exchange: Exchange, headers: list[tuple[bytes, bytes]]
                          ) -> Reply:
        provider = listing.listing.provider
        status, data, content_type = await self._upstream.post_json(
            exchange.url, exchange.headers, exchange.body, provider
        )
        if status >= 300:
            raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
        if exchange.translate_json is not None:
            data, content_type = exchange.translate_json(data), "application/json"
        return Reply(status=200, content_type=content_type.encode(), headers=headers, body=data)

    async def _relay_stream(self, listing: ListingEntry, exchange: Exchange, headers: list[tuple[bytes, bytes]]
                            ) -> Reply:
        provider = listing.listing.provider
        stream = await self._upstream.open_stream(exchange.url, exchange.headers, exchange.body, provider)
        if stream.status >= 300:
            try:
                data = await stream.read_all(ERROR_BODY_LIMIT)
            except GatewayError:
                data = b""
            finally:
                await stream.close()
            raise upstream_failure(stream.status, data, provider)
        if exchange.translator is not None:
            headers.extend(_SSE_HEADERS)
            relay = relay_translated(stream, exchange.translator)
            return Reply(status=200, content_type=b"text/event-stream; charset=utf-8", headers=headers, stream=relay)
        content_type = (stream.header("content-type") or "text/event-stream").encode()
        if content_type.startswith(_SSE):
            headers.extend(_SSE_HEADERS)
        return Reply(status=200, content_type=content_type, headers=headers,
                     stream=relay_chunks(stream, exchange.stream_error))
