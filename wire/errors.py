"""Error bodies shared by both processes: the documented shapes, built once.

OpenAI shape: {"error": {"message", "type", "code"}} where `code` is the HTTP status.
Anthropic shape (on /v1/messages): {"type": "error", "error": {"type", "message"}}.
"""

from __future__ import annotations

from typing import Final

import msgspec

ERROR_TYPES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_balance",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "bad_request",
    415: "bad_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "upstream_error",
    503: "market_unavailable",
    504: "upstream_error",
}

ANTHROPIC_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str
    code: int


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


_encoder = msgspec.json.Encoder()


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "internal_error" if status >= 500 else "bad_request")


def openai_error_body(status: int, message: str, type_: str | None = None) -> bytes:
    detail = ErrorDetail(message=message, type=type_ or error_type(status), code=status)
    return _encoder.encode(ErrorBody(error=detail))


def anthropic_error_body(status: int, message: str) -> bytes:
    kind = ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return _encoder.encode({"type": "error", "error": {"type": kind, "message": message}})
