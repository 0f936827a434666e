"""One chat-completions request: authenticate -> validate -> route -> relay.

Orchestration only. Auth, validation and routing are pure functions over the
current snapshot index (read once per request); the only awaits are the body
read, the upstream call and the client writes.
"""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from blacksheep import Content, Request, Response, StreamedContent
from blacksheep.contents import ASGIContent

from proxy.auth import authenticate, bearer_token, check_access, client_ip
from proxy.body import read_json_body
from proxy.errors import GatewayError, MarketUnavailable, NotFound
from proxy.responses import error_response, gateway_error_response
from proxy.settings import ProxySettings
from proxy.snapshot.index import ListingEntry, Network
from proxy.snapshot.store import SnapshotStore
from proxy.upstream.client import UpstreamClient
from proxy.upstream.relay import ERROR_BODY_LIMIT, Receive, stream_relay, upstream_failure
from proxy.validation import parse_chat
from wire.keys import derive_hash_secret

log = logging.getLogger("dragonfly.proxy")
_SSE = b"text/event-stream"
_SSE_HEADERS = ((b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"))


def new_request_id() -> str:
    return str(uuid.uuid4())


def rewrite_model(body: bytes, upstream_model: str) -> bytes:
    """The body with `model` set to the seller's upstream name; every other field untouched."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:  # numbers orjson cannot hold (e.g. > 64-bit ints)
        raise GatewayError("Request body could not be re-encoded for the upstream.") from None
    doc["model"] = upstream_model
    return orjson.dumps(doc)


def no_route(model: str) -> MarketUnavailable:
    return MarketUnavailable(
        f"No seller is currently offering '{model}': 0 active listings. Retry later or choose another model."
    )


class ChatPipeline:
    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...]) -> None:
        self._settings = settings
        self._store = store
        self._upstream = upstream
        self._hash_secret = derive_hash_secret(settings.secret_key)
        self._trusted = trusted

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        rid = request_id.encode()
        try:
            return await self._handle(request, request_id, rid)
        except GatewayError as exc:
            return gateway_error_response(exc, rid)
        except Exception:  # the handler boundary: never a bare 500 page
            log.exception("unhandled error in request %s", request_id)
            return error_response(500, f"Internal error. Retry with backoff; quote request id {request_id}.", rid)

    async def _handle(self, request: Request, request_id: str, rid: bytes) -> Response:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        authorization = request.get_first_header(b"authorization")
        token = bearer_token(authorization.decode("latin-1") if authorization else None)
        entry = authenticate(token, index, self._hash_secret, time.time())
        body = await read_json_body(request, self._settings.max_body_bytes)
        chat = parse_chat(body)
        if chat.model not in index.models:
            raise NotFound(f"Model '{chat.model}' does not exist. GET /v1/models lists the available models.")
        forwarded = request.get_first_header(b"x-forwarded-for")
        ip = client_ip(request.client_ip, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        check_access(entry, ip, chat.model)
        candidates = index.listings.get(chat.model)
        if not candidates:
            raise no_route(chat.model)
        listing = candidates[0]
        if listing.listing.upstream_model != chat.model:
            body = rewrite_model(body, listing.listing.upstream_model)
        headers = [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers]
        if chat.stream:
            content = request.content
            receive = content.receive if isinstance(content, ASGIContent) else None
            return await self._relay_stream(listing, body, headers, receive)
        return await self._relay_json(listing, body, headers)

    def _upstream_headers(self, listing: ListingEntry) -> list[tuple[str, str]]:
        return [("authorization", listing.auth_header), ("content-type", "application/json")]

    async def _relay_json(self, listing: ListingEntry, body: bytes,
                          headers: list[tuple[bytes, bytes]]) -> Response:
        provider = listing.listing.provider
        status, data, content_type = await self._upstream.post_json(
            listing.chat_url, self._upstream_headers(listing), body, provider
        )
        if status >= 300:
            raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
        return Response(200, headers, Content(content_type.encode(), data))

    async def _relay_stream(self, listing: ListingEntry, body: bytes,
                            headers: list[tuple[bytes, bytes]], receive: Receive | None) -> Response:
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
        return Response(200, headers, StreamedContent(content_type, stream_relay(stream, receive)))
