"""One admitted request's metering: turns how its response ended into exactly one usage event.

Who pays (README "Billing"): completed -> prompt + completion (reported, capped, else counted);
upstream broke mid-stream ("partial") -> only the completion tokens delivered, no prompt (the
seller's fault; nothing if nothing was delivered); the buyer left ("disconnected") -> prompt +
the tokens generated until the upstream was cancelled; no answer ("failed") -> nothing.
"""

from __future__ import annotations

import time

from proxy.billing.gate import Admission, Billing, asks_of
from proxy.billing.meter import Metered, StreamTap, bill, meter_json
from proxy.upstream.relay import StreamEnd
from wire.snapshot import FeeProfile, Listing


class Meter:
    __slots__ = ("_billing", "_adm", "_prompt_estimate", "_tap", "_done")

    def __init__(self, billing: Billing, adm: Admission, prompt_estimate: int) -> None:
        self._billing = billing
        self._adm = adm
        self._prompt_estimate = prompt_estimate
        self._tap: StreamTap | None = None
        self._done = False

    def served_by(self, listing: Listing, fees: FeeProfile | None) -> None:
        """The listing that answered (fallback may differ from the one the reservation priced):
        the usage event and the charge are at its asks."""
        self._adm.listing = listing
        self._adm.asks = asks_of(listing, fees)

    def stream_tap(self, strip_usage: bool) -> StreamTap:
        self._tap = StreamTap(strip_usage)
        self._done = True  # from here the relay's end decides (`end_stream`)
        return self._tap

    def end_failed(self) -> None:
        if not self._done:
            self._done = True
            self._billing.finish(self._adm, "failed", None, 0)

    def end_json(self, body: bytes) -> None:
        self._done = True
        adm = self._adm
        metered = meter_json(body, self._prompt_estimate, adm.prompt_bound, adm.cap)
        self._billing.finish(adm, "completed", metered, time.monotonic_ns())

    def end_stream(self, end: StreamEnd) -> None:
        tap, adm = self._tap, self._adm
        assert tap is not None
        if end == "partial":
            metered = Metered(prompt_tokens=0, completion_tokens=min(tap.events, adm.cap), estimated=True)
        else:
            metered = bill(tap.usage, self._prompt_estimate, tap.events, adm.prompt_bound, adm.cap)
        self._billing.finish(adm, end, metered, tap.first_chunk_ns)
