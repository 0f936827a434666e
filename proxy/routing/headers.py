"""Parse and validate the market routing request headers (pure).

Every malformed value is a 400 that names the header. Values are length-limited
(`MAX_VALUE`), provider lists hold at most `MAX_PROVIDERS` slugs of `[a-z0-9._-]`,
and the session id is at most 128 printable ASCII characters. A request without any
routing header costs eleven dict lookups and returns the shared `NO_HEADERS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from proxy.errors import BadRequest

MAX_VALUE = 512
MAX_PROVIDERS = 32
MAX_SESSION = 128
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SESSION = re.compile(r"^[\x21-\x7e]{1,128}$")
_MICROS = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class RouteHeaders:
    """What the buyer asked for on this request; None/empty = not given."""

    max_price: int | None = None  # micro-USD per Mtok of input the buyer can be charged (fee included)
    max_ttft_ms: int | None = None  # soft
    min_tps: int | None = None  # soft
    hard_max_ttft_ms: int | None = None
    hard_min_tps: int | None = None
    trusted_only: bool = False
    provider_only: frozenset[str] = frozenset()
    provider_ignore: frozenset[str] = frozenset()
    provider_order: tuple[str, ...] = ()
    session_id: str | None = None


NO_HEADERS = RouteHeaders()
_NAMES = frozenset((b"routing-strategy", b"x-session-id", b"x-max-price", b"x-max-ttft-ms", b"x-min-throughput-tps",
          b"x-hard-max-ttft-ms", b"x-hard-min-throughput-tps", b"x-privacy-mode", b"x-provider-only",
          b"x-provider-ignore", b"x-provider-order"))


def _text(name: str, raw: bytes) -> str:
    if len(raw) > MAX_VALUE:
        raise BadRequest(f"Header {name} is longer than {MAX_VALUE} bytes.")
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadRequest(f"Header {name} must be ASCII.") from None


def _positive_int(name: str, raw: bytes) -> int:
    text = _text(name, raw)
    if not text.isdigit() or not 0 < int(text) <= 10_000_000:
        raise BadRequest(f"Header {name} must be a positive whole number, got '{text[:40]}'.")
    return int(text)


def _price(name: str, raw: bytes) -> int:
    text = _text(name, raw)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > 1_000_000 or "e" in text.lower():
        raise BadRequest(
            f"Header {name} must be a price in USD per million input tokens, e.g. '0.30'; got '{text[:40]}'."
        )
    return int(value * _MICROS)  # truncates below one micro-USD: a ceiling never loosens


def _providers(name: str, raw: bytes) -> tuple[str, ...]:
    text = _text(name, raw)
    items = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if not items:
        raise BadRequest(f"Header {name} must list provider slugs separated by commas.")
    if len(items) > MAX_PROVIDERS:
        raise BadRequest(f"Header {name} lists more than {MAX_PROVIDERS} providers.")
    for item in items:
        if not _SLUG.match(item):
            raise BadRequest(f"Header {name} has an invalid provider slug '{item[:40]}' (use [a-z0-9._-]).")
    return items


def parse_route_headers(headers: dict[bytes, bytes]) -> RouteHeaders:
    """The routing headers of a request (lower-case names), validated."""
    if _NAMES.isdisjoint(headers):  # the common case: one C-level check, no per-name loop
        return NO_HEADERS
    strategy = headers.get(b"routing-strategy")
    if strategy is not None and _text("Routing-Strategy", strategy).lower() != "market-only":
        raise BadRequest("Header Routing-Strategy supports only 'market-only' (the default).")
    privacy = headers.get(b"x-privacy-mode")
    trusted_only = False
    if privacy is not None:
        mode = _text("X-Privacy-Mode", privacy).lower()
        if mode not in ("trusted_only", "any"):
            raise BadRequest("Header X-Privacy-Mode must be 'trusted_only' (or 'any').")
        trusted_only = mode == "trusted_only"
    session = headers.get(b"x-session-id")
    session_id = None
    if session is not None:
        session_id = _text("X-Session-Id", session)
        if not _SESSION.match(session_id):
            raise BadRequest(f"Header X-Session-Id must be 1-{MAX_SESSION} printable ASCII characters, no spaces.")
    raw = headers.get
    return RouteHeaders(
        max_price=_price("X-Max-Price", v) if (v := raw(b"x-max-price")) is not None else None,
        max_ttft_ms=_positive_int("X-Max-TTFT-Ms", v) if (v := raw(b"x-max-ttft-ms")) is not None else None,
        min_tps=_positive_int("X-Min-Throughput-TPS", v) if (v := raw(b"x-min-throughput-tps")) is not None else None,
        hard_max_ttft_ms=(_positive_int("X-Hard-Max-TTFT-Ms", v)
                          if (v := raw(b"x-hard-max-ttft-ms")) is not None else None),
        hard_min_tps=(_positive_int("X-Hard-Min-Throughput-TPS", v)
                      if (v := raw(b"x-hard-min-throughput-tps")) is not None else None),
        trusted_only=trusted_only,
        provider_only=frozenset(_providers("X-Provider-Only", v)) if (v := raw(b"x-provider-only")) else frozenset(),
        provider_ignore=(frozenset(_providers("X-Provider-Ignore", v))
                         if (v := raw(b"x-provider-ignore")) else frozenset()),
        provider_order=_providers("X-Provider-Order", v) if (v := raw(b"x-provider-order")) else (),
        session_id=session_id,
    )
