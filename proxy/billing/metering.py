"""One admitted request's metering: turns how its response ended into exactly one usage event.

Who pays (README "Billing"): completed -> prompt + completion (reported, capped, else counted);
a stream counts as completed once the upstream's last event (`[DONE]`, Anthropic `message_stop`)
has been read, even if the buyer closes before the upstream's body ends (the openai SDK closes
the connection right after `[DONE]`);
upstream broke mid-stream ("partial") -> only the completion units delivered, no prompt (the
seller's fault; nothing if nothing was delivered); the buyer left ("disconnected") -> prompt +
the tokens generated until the upstream was cancelled; no answer ("failed") -> nothing.

The same rules for every endpoint and both dialects (units per endpoint: `proxy.billing.bounds`):
- usage is read from the *upstream's* answer, in the listing's format, before any translation,
  by a tap that parses the SSE stream and its JSON whatever the formatting (`stream_tap`)
  (OpenAI `usage` / the `include_usage` chunk; Anthropic `usage` / `message_start` +
  `message_delta`); a translated stream takes the translator's normalised usage, which is the
  same mapping (`proxy.translate.usage`), so a request costs the same whichever way it went;
- our own completion count (estimates, the cross-check, a broken stream's delivered units) is
  the tokens of the streamed text the tap collected, tokenized once when the stream ends;
- speech bills the characters of `input` (counted by us, exact) once audio has reached the
  buyer (completed or the buyer left), nothing if the upstream broke mid-stream;
- transcriptions bill whole seconds of audio (`proxy.billing.audio`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from proxy.billing.anthropic_meter import AnthropicTap, meter_anthropic_json
from proxy.billing.audio import AudioProbe, meter_transcription
from proxy.billing.bounds import Bounds
from proxy.billing.gate import Admission, Billing, asks_of
from proxy.billing.meter import Metered, Usage, bill, meter_json
from proxy.billing.stream_tap import StreamTap
from proxy.upstream.relay import StreamEnd
from wire.snapshot import ApiFormat, FeeProfile, Listing


class FirstByteTap:
    """A binary stream (audio): notes when the first chunk went out, changes nothing."""

    __slots__ = ("events", "finished", "first_chunk_ns", "usage")

    def __init__(self) -> None:
        self.events = 0
        self.finished = False
        self.first_chunk_ns = 0
        self.usage: Usage | None = None

    def observe(self, chunk: bytes, now_ns: int) -> bytes:
        if not self.first_chunk_ns:
            self.first_chunk_ns = now_ns
        return chunk

    def close(self) -> bytes:
        return b""

    def counted_tokens(self, family: str = "") -> int:
        return 0


Tap = StreamTap | AnthropicTap | FirstByteTap


class Meter:
    __slots__ = ("_billing", "_adm", "_bounds", "_tap", "_usage_of", "_done")

    def __init__(self, billing: Billing, adm: Admission, bounds: Bounds) -> None:
        self._billing = billing
        self._adm = adm
        self._bounds = bounds
        self._tap: Tap | None = None
        self._usage_of: Callable[[], Usage | None] | None = None
        self._done = False

    def served_by(self, listing: Listing, fees: FeeProfile | None) -> None:
        """The listing that answered (fallback may differ from the one the reservation priced):
        the usage event and the charge are at its asks."""
        self._adm.listing = listing
        self._adm.asks = asks_of(listing, fees)

    def stream_tap(self, strip_usage: bool, upstream_format: ApiFormat) -> Tap:
        """The tap for the upstream's bytes (relayed natively, or fed to a translator)."""
        tap: Tap
        if self._bounds.unit != "token":
            tap = FirstByteTap()
        elif upstream_format == "anthropic":
            tap = AnthropicTap()
        else:
            tap = StreamTap(strip_usage)
        self._tap = tap
        self._done = True  # from here the relay's end decides (`end_stream`)
        return tap

    def translated_usage(self, usage_of: Callable[[], Usage | None]) -> None:
        """A translated stream: billed usage is the translator's normalised usage."""
        self._usage_of = usage_of

    def end_failed(self) -> None:
        if not self._done:
            self._done = True
            self._billing.finish(self._adm, "failed", None, 0)

    def end_json(self, body: bytes, upstream_format: ApiFormat) -> None:
        """A whole answer (the upstream's body, before translation) reached the buyer."""
        self._done = True
        adm, b = self._adm, self._bounds
        if upstream_format == "anthropic":
            metered = meter_anthropic_json(body, b.estimate, adm.prompt_bound, adm.cap, b.family)
        else:
            metered = meter_json(body, b.estimate, adm.prompt_bound, adm.cap, b.family)
        self._billing.finish(adm, "completed", metered, time.monotonic_ns())

    def end_transcription(self, body: bytes, probe: AudioProbe) -> None:
        self._done = True
        self._billing.finish(self._adm, "completed", meter_transcription(body, probe, self._adm.prompt_bound),
                             time.monotonic_ns())

    def end_stream(self, end: StreamEnd) -> None:
        tap, adm = self._tap, self._adm
        assert tap is not None
        if end == "disconnected" and tap.finished:
            end = "completed"  # the answer was whole: the buyer closed after the last event (the SDKs do)
        if self._bounds.unit == "character":
            delivered = end != "partial" and tap.first_chunk_ns != 0
            metered = Metered(prompt_tokens=adm.prompt_bound if delivered else 0, completion_tokens=0)
        elif end == "partial":
            metered = Metered(prompt_tokens=0, completion_tokens=min(tap.counted_tokens(self._bounds.family), adm.cap),
                              estimated=True)
        else:
            usage = tap.usage
            if self._usage_of is not None:
                usage = self._usage_of() if end == "completed" else None
            counted = tap.counted_tokens(self._bounds.family)
            metered = bill(usage, self._bounds.estimate, counted, adm.prompt_bound, adm.cap)
        self._billing.finish(adm, end, metered, tap.first_chunk_ns)
