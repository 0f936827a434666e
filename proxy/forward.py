"""Forward the control plane's paths so buyers and sellers need one base URL.

`/api/*`, `/v1/pool/*`, `/v1/market/*`, `/v1/billing/*` and `/v1/generation` go to
`DF_CONTROL_PLANE_URL` with method, query, headers and body as sent, streaming the
request body up and the response body down. Hop-by-hop headers are dropped.

Client address: the client's own forwarding headers (`X-Forwarded-For`, `Forwarded`,
`X-Real-IP`) are dropped and ONE `X-Forwarded-For` value is sent: the address computed under
this proxy's trusted-proxy rules (`proxy.auth.client_ip`, `DF_TRUSTED_PROXIES`), so a caller
cannot pick the address the control plane's per-IP limits count.

Body limit: a request body is read while counting, up to `DF_CONTROL_PLANE_MAX_BODY_BYTES`
(64 KiB, the control plane's own limit), within `DF_BODY_READ_TIMEOUT_S`; a longer body
(declared or chunked) is answered 413 at once, a slower one 408, without reading the rest.

Failure mode: control plane unreachable or slow -> 502/504-style `upstream_error`
naming the control plane; nothing is retried (the methods are not all idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

from blacksheep import Request, Response, StreamedContent
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import PyreqwestError

from proxy.auth import client_ip
from proxy.responses import error_response
from proxy.snapshot.index import Network
from proxy.upstream.client import UpstreamStream

FORWARDED_PREFIXES = ("/api/", "/v1/pool/", "/v1/market/", "/v1/billing/", "/v1/generation")
_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer",
        b"upgrade", b"host", b"content-length"}
_HOP_STR = {h.decode() for h in _HOP}
_CLIENT_FORWARDING = {b"x-forwarded-for", b"forwarded", b"x-real-ip"}
_DROP = _HOP | _CLIENT_FORWARDING
_NO_BODY = ("GET", "HEAD", "DELETE", "OPTIONS")


class _BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ControlPlaneForwarder:
    def __init__(self, base_url: str, connect_timeout_s: float, timeout_s: float, *,
                 trusted: tuple[Network, ...] = (), max_body_bytes: int = 64 * 1024,
                 read_timeout_s: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
        self._trusted = trusted
        self._max_body = max_body_bytes
        self._read_timeout = read_timeout_s
        self._client: Client = (
            ClientBuilder()
            .connect_timeout(timedelta(seconds=connect_timeout_s))
            .timeout(timedelta(seconds=timeout_s))
            .error_for_status(False)
            .follow_redirects(False)
            .gzip(False).brotli(False).zstd(False).deflate(False)
            .build()
        )

    async def close(self) -> None:
        await self._client.close()

    async def forward(self, request: Request, request_id: str) -> Response:
        rid = request_id.encode()
        if not self._base:
            return error_response(503, "This gateway has no control plane configured (DF_CONTROL_PLANE_URL).", rid)
        query = request.url.query
        url = self._base + request.url.path.decode() + ("?" + query.decode() if query else "")
        forwarded = request.get_first_header(b"x-forwarded-for")
        caller = client_ip(request.client_ip, forwarded.decode("latin-1") if forwarded else None, self._trusted)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.items()
                   if k.lower() not in _DROP]
        headers += [("x-forwarded-for", caller), ("x-request-id", request_id)]
        builder = self._client.request(request.method, url).headers(headers)
        try:
            body = await self._read_body(request)
        except _BodyRefused as exc:
            return error_response(exc.status, exc.message, rid)
        if body:
            builder = builder.body_bytes(body)
        stream_request = builder.streamed_read_buffer_limit(0).build_streamed()
        try:
            response = await stream_request.__aenter__()
        except PyreqwestError:
            return error_response(502, "The control plane is unreachable right now. Retry shortly.", rid)
        upstream = UpstreamStream(stream_request, response, self._timeout, "control plane")
        out_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
                       if k.lower() not in _HOP_STR and k.lower() != "content-type"]
        if not any(k == b"x-request-id" for k, _ in out_headers):
            out_headers.append((b"x-request-id", rid))
        content_type = (response.get_header("content-type") or "application/octet-stream").encode()

        async def relay() -> AsyncIterator[bytes]:
            try:
                while (chunk := await upstream.next_chunk()) is not None:
                    yield chunk
            finally:
                await upstream.close()

        return Response(response.status, out_headers, StreamedContent(content_type, relay))

    async def _read_body(self, request: Request) -> bytes:
        """The request body, counted while it is read; refused past the limit or the read timeout."""
        limit = self._max_body
        too_large = _BodyRefused(413, f"Request body is larger than the {limit:,}-byte limit of the control "
                                      "plane's API. Send a smaller request.")
        declared = request.get_first_header(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise too_large if declared.isdigit() else _BodyRefused(400, "Content-Length is not a number.")
        if request.method in _NO_BODY and declared is None and request.get_first_header(b"transfer-encoding") is None:
            return b""
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._read_timeout):
                async for chunk in request.stream():  # type: ignore[attr-defined]  # stub says Coroutine
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    parts.append(chunk)
        except TimeoutError:
            raise _BodyRefused(408, f"The request body did not arrive within {self._read_timeout:g}s. "
                                    "Send it at once.") from None
        return b"".join(parts)
