"""The proxy's error tree, and the one place errors become responses.

    GatewayError (500 internal_error)
    ├── BadRequest (400)              invalid JSON, field rules, content type
    │   ├── BodyTooLarge (413)
    │   └── UpstreamRejected (400)    the seller's upstream refused the request as invalid
    ├── Unauthorized (401)            missing, malformed, unknown, expired, revoked key
    ├── Forbidden (403)               IP lists, model allowlist, suspended account
    ├── NotFound (404)                unknown model or path
    ├── MarketUnavailable (503)       no snapshot yet, or no eligible listing
    └── UpstreamError (502)           connect/first-byte/idle timeouts, upstream 5xx/429

Every error carries a message that names what was wrong and how to fix it.
"""

from __future__ import annotations

from typing import ClassVar

from blacksheep import Content, Response

from wire.errors import openai_error_body


class GatewayError(Exception):
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GatewayError):
    status = 400


class BodyTooLarge(BadRequest):
    status = 413


class UpstreamRejected(BadRequest):
    pass


class Unauthorized(GatewayError):
    status = 401


class Forbidden(GatewayError):
    status = 403


class NotFound(GatewayError):
    status = 404


class MarketUnavailable(GatewayError):
    status = 503


class UpstreamError(GatewayError):
    status = 502


_JSON = b"application/json"


def error_response(status: int, message: str, request_id: bytes) -> Response:
    """The documented error body `{"error": {"message", "type", "code"}}` with x-request-id."""
    headers = [(b"x-request-id", request_id)]
    if status >= 500:
        headers.append((b"x-should-retry", b"true"))
    return Response(status, headers, Content(_JSON, openai_error_body(status, message)))


def gateway_error_response(exc: GatewayError, request_id: bytes) -> Response:
    return error_response(exc.status, exc.message, request_id)
