"""Forward the control plane's paths so buyers and sellers need one base URL.

`/api/*`, `/v1/pool/*`, `/v1/market/*`, `/v1/billing/*` and `/v1/generation` go to
`DF_CONTROL_PLANE_URL` with method, query, headers and body as sent, streaming the
request body up and the response body down. Hop-by-hop headers are dropped; the
caller's address goes along as `X-Forwarded-For`, the request id as `x-request-id`.

Failure mode: control plane unreachable or slow -> 502/504-style `upstream_error`
naming the control plane; nothing is retried (the methods are not all idempotent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from blacksheep import Request, Response, StreamedContent
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import PyreqwestError

from proxy.responses import error_response
from proxy.upstream.client import UpstreamStream

FORWARDED_PREFIXES = ("/api/", "/v1/pool/", "/v1/market/", "/v1/billing/", "/v1/generation")
_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer",
        b"upgrade", b"host", b"content-length"}
_HOP_STR = {h.decode() for h in _HOP}
_SMALL_BODY = 1024 * 1024


class ControlPlaneForwarder:
    def __init__(self, base_url: str, connect_timeout_s: float, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
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
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.items()
                   if k.lower() not in _HOP]
        headers += [("x-forwarded-for", request.client_ip), ("x-request-id", request_id)]
        builder = self._client.request(request.method, url).headers(headers)
        declared = request.get_first_header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= _SMALL_BODY:
            body = await request.read()
            if body:
                builder = builder.body_bytes(body)
        elif request.method not in ("GET", "HEAD", "DELETE") and request.content is not None:
            builder = builder.body_stream(_body_chunks(request))
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


async def _body_chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():  # type: ignore[attr-defined]  # stub says Coroutine
        if chunk:
            yield chunk
