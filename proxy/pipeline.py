"""One chat-completions request: authenticate -> validate -> route -> reserve -> relay -> meter.

Orchestration only. Billing (when on): the request's maximum cost is reserved before any
upstream call (402 otherwise); exactly one usage event per admitted request is handed to the
shipper when the response ends — "failed" (nothing billed) if no answer reached the buyer.
Auth, validation and routing are pure functions over the
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
from proxy.billing.gate import Billing
from proxy.billing.meter import estimate_tokens, prompt_chars
from proxy.billing.metering import Meter
from proxy.edge import Headers, Receive, read_json_body
from proxy.errors import GatewayError, MarketUnavailable, NotFound
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


def rewrite_body(body: bytes, upstream_model: str | None, include_usage: bool = False) -> bytes:
    """The body with `model` set to the seller's upstream name and, for metering a stream,
    `stream_options.include_usage` on; every other field untouched."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:  # numbers orjson cannot hold (e.g. > 64-bit ints)
        raise GatewayError("Request body could not be re-encoded for the upstream.") from None
    if upstream_model is not None:
        doc["model"] = upstream_model
    if include_usage:
        options = doc.get("stream_options")
        doc["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return orjson.dumps(doc)


def rewrite_model(body: bytes, upstream_model: str) -> bytes:
    return rewrite_body(body, upstream_model)


def no_route(model: str) -> MarketUnavailable:
    return MarketUnavailable(
        f"No seller is currently offering '{model}': 0 active listings. Retry later or choose another model."
    )


class ChatPipeline:
    def __init__(self, settings: ProxySettings, store: SnapshotStore, upstream: UpstreamClient,
                 trusted: tuple[Network, ...], billing: Billing | None = None) -> None:
        self._billing = billing
        self._settings = settings
        self._store = store
        self._upstream = upstream
        self._hash_secret = derive_hash_secret(settings.secret_key)
        self._trusted = trusted

    async def handle(self, headers: Headers, peer: str, receive: Receive) -> Reply:
        request_id = new_request_id()
        rid = request_id.encode()
        try:
            return await self._handle(headers, peer, receive, rid, request_id)
        except GatewayError as exc:
            return error_reply(exc.status, exc.message, rid)
        except Exception:  # the handler boundary: never a bare 500 page
            log.exception("unhandled error in request %s", request_id)
            return error_reply(500, f"Internal error. Retry with backoff; quote request id {request_id}.", rid)

    async def _handle(self, headers: Headers, peer: str, receive: Receive, rid: bytes, request_id: str) -> Reply:
        index = self._store.current()
        if index is None:
            raise MarketUnavailable("The gateway has not loaded its market snapshot yet. Retry in a moment.")
        authorization = headers.get(b"authorization")
        token = bearer_token(authorization.decode("latin-1") if authorization else None)
        entry = authenticate(token, index, self._hash_secret, time.time())
        body = await read_json_body(headers, receive, self._settings.max_body_bytes)
        chat = parse_chat(body)
        if chat.model not in index.models:
            raise NotFound(f"Model '{chat.model}' does not exist. GET /v1/models lists the available models.")
        forwarded = headers.get(b"x-forwarded-for")
        ip = client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        check_access(entry, ip, chat.model)
        candidates = index.listings.get(chat.model)
        if not candidates:
            raise no_route(chat.model)
        listing = candidates[0]
        meter: Meter | None = None
        if self._billing is not None:
            fees = index.fee_profiles.get(listing.listing.fee_profile_id or "")
            adm = await self._billing.admit(request_id, entry.key, listing.listing, index.models[chat.model], fees,
                                            chat, len(body))
            meter = Meter(self._billing, adm, estimate_tokens(prompt_chars(chat)))
        wants_usage = chat.stream_options is not None and chat.stream_options.include_usage is True
        add_usage = bool(chat.stream) and meter is not None and not wants_usage
        upstream_model = listing.listing.upstream_model
        if upstream_model != chat.model or add_usage:
            body = rewrite_body(body, upstream_model if upstream_model != chat.model else None, add_usage)
        out = [(b"x-request-id", rid), (b"x-df-market-request-id", rid), *listing.market_headers]
        try:
            if chat.stream:
                return await self._relay_stream(listing, body, out, meter, add_usage)
            return await self._relay_json(listing, body, out, meter)
        finally:
            if meter is not None:
                meter.end_failed()  # no answer reached the buyer (a no-op once the relay has metered)

    def _upstream_headers(self, listing: ListingEntry) -> list[tuple[str, str]]:
        return [("authorization", listing.auth_header), ("content-type", "application/json")]

    async def _relay_json(self, listing: ListingEntry, body: bytes, headers: list[tuple[bytes, bytes]],
                          meter: Meter | None) -> Reply:
        provider = listing.listing.provider
        status, data, content_type = await self._upstream.post_json(
            listing.chat_url, self._upstream_headers(listing), body, provider
        )
        if status >= 300:
            raise upstream_failure(status, data[:ERROR_BODY_LIMIT], provider)
        if meter is not None:
            meter.end_json(data)
        return Reply(status=200, content_type=content_type.encode(), headers=headers, body=data)

    async def _relay_stream(self, listing: ListingEntry, body: bytes, headers: list[tuple[bytes, bytes]],
                            meter: Meter | None, strip_usage: bool) -> Reply:
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
        if meter is None:
            return Reply(status=200, content_type=content_type, headers=headers, stream=relay_chunks(stream))
        tap = meter.stream_tap(strip_usage)
        return Reply(status=200, content_type=content_type, headers=headers,
                     stream=relay_chunks(stream, tap, meter.end_stream))
