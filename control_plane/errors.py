"""The control plane's one error tree, and the one place it becomes a response.

    ControlPlaneError (500 internal_error)
    ├── BadRequest (400)            a body, field or query value is wrong; names the field
    ├── Unauthorized (401)          no or bad credentials
    ├── InsufficientBalance (402)   more money asked for than is available (a withdrawal)
    ├── Forbidden (403)             credentials fine, not allowed (scope, unverified, suspended)
    ├── NotFound (404)              no such object *for this caller* (other owners' objects too)
    ├── Conflict (409)              a uniqueness or state conflict (email taken, key in use)
    ├── RequestTimeout (408)        the request body did not arrive in time
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── TooManyRequests (429)       per-IP limits on signup, login and wrong operator tokens
    └── Unavailable (503)           a resource is exhausted or not configured (deposit addresses)

Bodies follow `wire.errors.openai_error_body`: {"error": {"message", "type", "code"}}.
Messages say what was wrong and how to fix it; they never echo secrets.
"""

from __future__ import annotations

import math
from typing import ClassVar

from blacksheep import Content, Response

from wire.errors import openai_error_body


class ControlPlaneError(Exception):
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ControlPlaneError):
    status = 400


class Unauthorized(ControlPlaneError):
    status = 401


class InsufficientBalance(ControlPlaneError):
    status = 402


class Forbidden(ControlPlaneError):
    status = 403


class NotFound(ControlPlaneError):
    status = 404


class Conflict(ControlPlaneError):
    status = 409


class RequestTimeout(ControlPlaneError):
    status = 408


class PayloadTooLarge(ControlPlaneError):
    status = 413


class UnsupportedMediaType(ControlPlaneError):
    status = 415


class TooManyRequests(ControlPlaneError):
    """429 with an honest Retry-After (whole seconds) and retry-after-ms."""

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(ControlPlaneError):
    status = 503


def error_response(status: int, message: str) -> Response:
    """The documented error body for `status` with a helpful `message`."""
    return Response(status, None, Content(b"application/json", openai_error_body(status, message)))


def to_response(exc: ControlPlaneError) -> Response:
    response = error_response(exc.status, exc.message)
    if isinstance(exc, TooManyRequests):
        wait = max(exc.retry_after_s, 0.001)
        response.add_header(b"retry-after", str(max(1, math.ceil(wait))).encode())
        response.add_header(b"retry-after-ms", str(max(1, math.ceil(wait * 1000))).encode())
    if isinstance(exc, PayloadTooLarge | RequestTimeout):
        # the body was not read to its end: the connection cannot carry another request, so the
        # client is told to open a new one instead of finding it closed under its next request
        response.add_header(b"connection", b"close")
    return response
