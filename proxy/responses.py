"""The one place errors become HTTP responses (documented body, x-request-id)."""

from __future__ import annotations

from blacksheep import Content, Response

from proxy.errors import GatewayError
from wire.errors import openai_error_body

_JSON = b"application/json"


def error_response(status: int, message: str, request_id: bytes) -> Response:
    """The documented error body `{"error": {"message", "type", "code"}}` with x-request-id."""
    headers = [(b"x-request-id", request_id)]
    if status >= 500:
        headers.append((b"x-should-retry", b"true"))
    return Response(status, headers, Content(_JSON, openai_error_body(status, message)))


def gateway_error_response(exc: GatewayError, request_id: bytes) -> Response:
    return error_response(exc.status, exc.message, request_id)
