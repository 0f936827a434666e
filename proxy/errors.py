"""The proxy's error tree (pure). `proxy.reply.error_reply` is the one place errors become bodies.

    GatewayError (500 internal_error)
    ├── BadRequest (400)              invalid JSON, field rules, content type
    │   ├── BodyTooLarge (413)
    │   └── UpstreamRejected (400)    the seller's upstream refused the request as invalid
    ├── Unauthorized (401)            missing, malformed, unknown, expired, revoked key
    ├── Forbidden (403)               IP lists, model allowlist, suspended account
    ├── PaymentRequired (402)         balance or key budget cannot cover the request's maximum cost
    ├── NotFound (404)                unknown model or path
    ├── RateLimited (429)             a buyer limit (requests, tokens, per-IP) or every listing's seller cap
    ├── RateLimited (429)             a buyer limit or every eligible listing's seller cap
    ├── MarketUnavailable (503)       no snapshot yet, or no eligible listing
    │   └── BillingUnavailable (503)  billing state unreachable beyond the offline allowance
    └── UpstreamError (502)           connect/first-byte/idle timeouts, upstream 5xx/429
        ├── ListingBusy               a listing at its seller cap (skipped, never answered)
        └── DeadlineExceeded (504)    the request's own deadline passed first (not the seller's failure)

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
    """`kind` says what failed, for the fallback rules: connect | timeout | 5xx | 429 | auth | other.
    `auth` (the upstream answered 401/403: the seller's key) always falls back."""

    status = 502

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class ListingBusy(UpstreamError):
    """The chosen listing reached its seller's cap between ranking and the attempt: try the next one,
    and hold nothing against this one (it did not fail)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "capped")


class DeadlineExceeded(UpstreamError):
    """504: the request's deadline (routing profile `deadline_ms`, else `DF_ROUTE_DEADLINE_S`) ended its
    attempts before a seller answered. A cancellation by the buyer's own rule: never held against the
    listing that was cut off, and nothing is billed."""

    status = 504

    def __init__(self, message: str) -> None:
        super().__init__(message, "deadline")


class RateLimited(GatewayError):
    """429: a limit is spent. `retry_after_s` is honest: a retry after it can succeed."""

    status = 429

    def __init__(self, message: str, retry_after_s: float, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = headers or []

class BillingUnavailable(MarketUnavailable):
    pass
