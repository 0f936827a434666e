"""The proxy's error tree (pure). `proxy.responses` is the one place errors become responses.

    GatewayError (500 internal_error)
    ├── BadRequest (400)              invalid JSON, field rules, content type
    │   ├── BodyTooLarge (413)
    │   └── UpstreamRejected (400)    the seller's upstream refused the request as invalid
    ├── Unauthorized (401)            missing, malformed, unknown, expired, revoked key
    ├── Forbidden (403)               IP lists, model allowlist, suspended account
    ├── PaymentRequired (402)         balance or key budget cannot cover the request's maximum cost
    ├── NotFound (404)                unknown model or path
    ├── MarketUnavailable (503)       no snapshot yet, or no eligible listing
    │   └── BillingUnavailable (503)  billing state unreachable beyond the offline allowance
    └── UpstreamError (502)           connect/first-byte/idle timeouts, upstream 5xx/429

Every error carries a message that names what was wrong and how to fix it.
"""

from __future__ import annotations

from typing import ClassVar


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


class PaymentRequired(GatewayError):
    status = 402


class NotFound(GatewayError):
    status = 404


class MarketUnavailable(GatewayError):
    status = 503


class UpstreamError(GatewayError):
    status = 502


class BillingUnavailable(MarketUnavailable):
    pass
