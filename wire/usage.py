"""The usage event: one per admitted request, proxy -> Redis stream -> control-plane settlement.

Stream `{prefix}usage`: an entry holds one event (field `e` = msgpack `UsageEvent`) or a batch
(field `b` = `encode_batch` of encoded events: one XADD per proxy flush, not one per request).
The proxy sends an event once the response has ended (completed, broken, or the buyer left);
the control plane settles it in PostgreSQL idempotently by `request_id`, so a replay (spool,
stream redelivery) is a no-op.

Status, and who pays (the proxy decides the billed tokens, `wire.pricing` the money):
- `completed`: prompt + completion as reported (capped, see below);
- `partial`: the upstream broke mid-stream: prompt + only the completion tokens delivered;
- `disconnected`: the buyer left: prompt + tokens generated until the upstream was cancelled;
- `failed`: no byte of an answer reached the buyer: nothing (tokens 0).

Billed tokens are already capped by the proxy: completion <= the request's completion cap,
prompt <= the reservation's prompt bound; `usage_estimated` says the proxy counted them itself.
The money is capped too: an event's charge is at most its `reserved_micro_usd`
(`wire.pricing.capped`), whoever computes it (the proxy's lease, the settlement, the ledger check).
Schema evolution: fields are appended with defaults, never retyped.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from wire.pricing import Asks, Charge, capped, charge

UsageStatus = Literal["completed", "partial", "disconnected", "failed"]
USAGE_STREAM = "usage"  # key suffix after the prefix


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    v: int = 1
    request_id: str
    account_id: str
    key_id: str
    listing_id: str
    seller_account_id: str
    model: str
    provider: str
    upstream_model: str
    status: UsageStatus
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    usage_estimated: bool = False
    reported_completion_tokens: int | None = None  # what the seller said, before our caps
    asks: Asks
    fee_profile_id: str | None = None
    reserved_micro_usd: int = 0
    month: int = 0  # YYYYMM (UTC) of admission: the budget month the charge belongs to
    started_at_ms: int = 0  # Unix ms at admission
    ttft_ms: int | None = None
    latency_ms: int = 0
    offline: bool = False  # admitted without Redis (local offline allowance)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(UsageEvent)


def encode_event(event: UsageEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> UsageEvent:
    return _decoder.decode(data)


def uncapped_charge_of(event: UsageEvent) -> Charge:
    """`wire.pricing.charge` of an event's billed tokens (a failed request: nothing), before the cap."""
    if event.status == "failed":
        return charge(0, 0, 0, event.asks)
    return charge(event.prompt_tokens, event.cached_tokens, event.completion_tokens, event.asks)


def charge_of(event: UsageEvent) -> Charge:
    """What an event costs: its tokens' charge, capped at its reservation."""
    return capped(uncapped_charge_of(event), event.reserved_micro_usd, event.asks)


def encode_batch(records: list[bytes]) -> bytes:
    """Encoded events, each prefixed by its 4-byte big-endian length."""
    return b"".join(len(r).to_bytes(4, "big") + r for r in records)


def decode_batch(data: bytes) -> list[bytes]:
    """The encoded events of a batch (a torn tail is dropped)."""
    out: list[bytes] = []
    at = 0
    while at + 4 <= len(data):
        n = int.from_bytes(data[at:at + 4], "big")
        if at + 4 + n > len(data):
            break
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out
