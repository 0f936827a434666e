"""Admission probes: what the control plane asks a proxy to run, and what comes back (pure).

The control plane never calls an upstream itself (it may not import `proxy`, and the
probe must take the listing's own upstream path: the proxy's client, translation and
metering rules). So a probe travels through Redis, the channel both sides already trust:
the control plane pushes a msgpack `ProbeRequest` onto the list `probe_requests_key(prefix)`
carrying the listing as the snapshot would (`wire.snapshot.Listing`, its upstream key only
sealed, `wire.sealing`); any proxy worker pops it, runs it against the upstream and pushes
the `ProbeResult` onto the request's own `reply_key` (a list with a short TTL), which the
control plane waits on. Nothing of a probe touches billing: no reservation, no usage
event, no ledger entry, no buyer.
"""

from __future__ import annotations

import msgspec

from wire.snapshot import Listing

REPLY_TTL_S = 120


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    listing: Listing  # sealed_key set, upstream_key empty
    reply_key: str
    family: str = ""  # the catalog model's owner: picks the tokenizer of our own counts
    expect: dict[str, object] = msgspec.field(default_factory=dict)  # the catalog model's fingerprint
    deadline: float = 0.0  # unix seconds: a proxy that pops the request later drops it


class ProbeCheck(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    passed: bool
    detail: str = ""


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    checks: tuple[ProbeCheck, ...]
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    upstream_status: int | None = None  # the upstream's HTTP status, None if it never answered
    runner: str = ""  # the proxy worker that ran it


def probe_requests_key(prefix: str) -> str:
    return f"{prefix}probe:requests"


def probe_reply_key(prefix: str, run_id: str) -> str:
    return f"{prefix}probe:reply:{run_id}"


_encoder = msgspec.msgpack.Encoder()
_requests = msgspec.msgpack.Decoder(ProbeRequest)
_results = msgspec.msgpack.Decoder(ProbeResult)


def encode(obj: ProbeRequest | ProbeResult) -> bytes:
    return _encoder.encode(obj)


def decode_request(body: bytes) -> ProbeRequest:
    return _requests.decode(body)


def decode_result(body: bytes) -> ProbeResult:
    return _results.decode(body)
