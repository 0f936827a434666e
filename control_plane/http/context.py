"""What handlers receive: long-lived services (built in app start-up) and the current call."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import msgspec
from blacksheep import Content, Request, Response

from control_plane.admission.service import Admission
from control_plane.auth.principal import Principal
from control_plane.crypto import SecretBox
from control_plane.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from control_plane.http.ip_limit import IpLimiter, Network, caller_ip
from control_plane.settings import Settings
from wire.snapshot import ListingStats

T = TypeVar("T")
MAX_BODY_BYTES = 64 * 1024
_encoder = msgspec.json.Encoder()
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


async def _no_push(account_id: str) -> None:
    return None


async def _no_stats() -> tuple[ListingStats, ...]:
    return ()


async def _no_ejections() -> dict[str, int]:
    return {}


@dataclass
class Services:
    settings: Settings
    pool: asyncpg.Pool
    box: SecretBox
    hash_secret: bytes
    jwt_keys: tuple[bytes, ...]  # newest first: sign with the first, verify with any
    wake_mailer: Callable[[], None]
    clock: Callable[[], float] = time.time
    push_credit: Callable[[str], Awaitable[None]] = _no_push  # after a credit commits (billing.credit_state)
    request_id_secret: bytes = b""  # /v1/generation: "pending" for an unsettled id of the caller (wire.request_ids)
    ip_limiter: IpLimiter | None = None
    trusted_proxies: tuple[Network, ...] = ()
    admission: Admission | None = None  # admission probes and contracts (control_plane.admission)
    live_stats: Callable[[], Awaitable[tuple[ListingStats, ...]]] = _no_stats  # the proxies' reports (Redis)
    live_ejections: Callable[[], Awaitable[dict[str, int]]] = _no_ejections  # breaker ejections in those reports


@dataclass
class Call:
    services: Services
    request: Request
    request_id: str
    principal: Principal | None = None
    route_values: dict[str, str] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        assert self.principal is not None, "route declared no caller"
        return self.principal.account_id

    async def limit_per_ip(self, endpoint: str) -> None:
        """429 when this client IP called `endpoint` too often this minute."""
        limiter = self.services.ip_limiter
        if limiter is not None:
            await limiter.check(endpoint, request_ip(self.services, self.request))

    def path_id(self, name: str = "id") -> str:
        """A UUID path parameter; anything else cannot name an object, so it is a 404 later."""
        raw = self.route_values.get(name, "")
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            return "00000000-0000-0000-0000-000000000000"

    async def body(self, kind: type[T]) -> T:
        """The JSON body decoded as `kind`; 400/413/415 with the field at fault."""
        raw = await read_body(self.request, self.services.settings.body_read_timeout_s)
        if not raw.strip():
            raw = b"{}"
        else:
            ctype = (self.request.content_type() or b"").split(b";")[0].strip().lower()
            if ctype and ctype != b"application/json":
                raise UnsupportedMediaType(
                    f"Content-Type {ctype.decode(errors='replace')!r} is not supported; send application/json"
                )
        decoder = _decoders.get(kind)
        if decoder is None:
            decoder = _decoders[kind] = msgspec.json.Decoder(kind)
        try:
            return decoder.decode(raw)  # type: ignore[no-any-return]
        except msgspec.ValidationError as exc:
            raise BadRequest(_explain(str(exc))) from None
        except msgspec.DecodeError:
            raise BadRequest("request body is not valid JSON; send a JSON object") from None


def request_ip(services: Services, request: Request) -> str:
    """The client's address under the trusted-proxy rule (`http.ip_limit.caller_ip`)."""
    forwarded = request.get_first_header(b"x-forwarded-for")
    return caller_ip(request.client_ip, forwarded.decode("latin-1") if forwarded else None,
                     services.trusted_proxies)


def _too_large(size: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is {size} bytes; the limit is {MAX_BODY_BYTES:,}: send a smaller body")


async def read_body(request: Request, timeout_s: float) -> bytes:
    """The request body, counted while it arrives (chunked too): 413 past MAX_BODY_BYTES without
    reading the rest, 408 when it takes longer than `timeout_s` (DF_BODY_READ_TIMEOUT_S)."""
    declared = request.get_first_header(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(f"{int(declared):,}")
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():  # type: ignore[attr-defined]  # stub says Coroutine
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large(f"more than {MAX_BODY_BYTES:,}")
                parts.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout_s:g}s; send it at once") from None
    return b"".join(parts)


def _explain(message: str) -> str:
    """msgspec's message with the JSON path turned into a field name."""
    if message.startswith("Object contains unknown field"):
        name = message.split("`")[1] if "`" in message else "?"
        return f"{name}: unknown field; remove it (fields are listed in /api/openapi.json)"
    if " - at `$." in message:
        text, path = message.rsplit(" - at `$.", 1)
        return f"{path.rstrip('`')}: {text}"
    if message.startswith("Object missing required field"):
        name = message.split("`")[1] if "`" in message else "?"
        return f"{name}: required field is missing"
    return f"request body: {message}"


def json_response(value: object, status: int = 200) -> Response:
    return Response(status, None, Content(b"application/json", _encoder.encode(value)))
