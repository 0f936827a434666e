"""Seconds of audio in a transcription upload, and what a transcription is billed (pure).

Rule, stated once (README "Billing"): a transcription is billed in whole seconds of audio
(rounded up per request) at the listing's `ask_input` per million seconds:
1. the upstream's `duration` (OpenAI `verbose_json`), else its `usage.seconds` (OpenAI's
   `usage: {"type": "duration"}`), rounded up — capped at our own count below (a PCM WAV's
   exact length) or, without one, at the reservation's bound (upload bytes / 1,000);
2. else our own count, from the uploaded file as it streams past: a PCM WAV (format 1 or
   extensible) lasts (its data bytes) / (sample rate x channels x bits per sample / 8), the rate
   at which decoders (and so the upstream) play it — never the header's own `byte_rate`, which a
   buyer can forge and decoders ignore. Its data bytes are those received after the `data`
   header, or the chunk's declared length when smaller (decoders stop there); a declared length
   of 0 or 0xFFFFFFFF (streamed WAV) means "to the end" and counts what arrived. Any other format
   is estimated at 16,000 bytes a second (128 kbit/s) and marked `usage_estimated`.

Which side each check protects: capping the seller's figure at ours protects the buyer from a
seller that over-reports; measuring the WAV ourselves protects the seller (and the platform)
from a buyer whose header under-states its audio. A seller reporting *less* than our count is
billed at its own figure: under-reporting only costs the seller, so it is allowed.
"""

from __future__ import annotations

import struct

import msgspec

from proxy.billing.meter import Metered

ESTIMATE_BYTES_PER_SECOND = 16_000
_KEEP = 4096  # bytes of the file's start kept to read a WAV header
_PCM = (1, 0xFFFE)  # WAVE_FORMAT_PCM, WAVE_FORMAT_EXTENSIBLE
_UNKNOWN_LENGTH = 0xFFFFFFFF  # a streamed WAV's `data` length


class _TranscriptUsage(msgspec.Struct):
    type: str = ""
    seconds: float | None = None


class _Transcript(msgspec.Struct):
    duration: float | None = None
    usage: _TranscriptUsage | None = None


_transcript = msgspec.json.Decoder(_Transcript)


def wav_seconds(head: bytes, size: int) -> int | None:
    """Whole seconds (rounded up) of a PCM WAV: the data bytes received (`size` is the number of
    file bytes received) over the byte rate its format implies; None if `head` is not a usable one."""
    if len(head) < 44 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, rate = 12, 0
    while pos + 8 <= len(head):
        kind, length = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if kind == b"fmt " and pos + 24 <= len(head):
            fmt, channels, sample_rate, _, _, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
            rate = sample_rate * channels * bits // 8  # the header's byte_rate field is not used
            if fmt not in _PCM or rate == 0 or bits % 8:
                return None  # compressed, or not a sample format
        elif kind == b"data":
            data = max(size - pos - 8, 0)  # what arrived (a few bytes of form trailer too)
            if 0 < length < _UNKNOWN_LENGTH:  # decoders stop at a declared length; 0 / max: read to the end
                data = min(data, length)
            return -(-data // rate) if rate else None
        pos += 8 + length + (length & 1)
    return None


class AudioProbe:
    """Fed the uploaded file's bytes as they stream to the seller; keeps only its first 4 KiB."""

    __slots__ = ("head", "size")

    def __init__(self) -> None:
        self.head = bytearray()
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if len(self.head) < _KEEP:
            self.head += data[:_KEEP - len(self.head)]

    def seconds(self) -> tuple[int, bool]:
        """(whole seconds, estimated)."""
        exact = wav_seconds(bytes(self.head), self.size)
        if exact is not None:
            return exact, False
        return -(-self.size // ESTIMATE_BYTES_PER_SECOND), True


def reported_seconds(body: bytes) -> int | None:
    try:
        doc = _transcript.decode(body)
    except msgspec.MsgspecError:
        return None  # text, srt, vtt: no usage
    value = doc.duration
    if value is None and doc.usage is not None and doc.usage.type == "duration":
        value = doc.usage.seconds
    if value is None or value < 0:
        return None
    whole = int(value)
    return whole + (whole < value)


def meter_transcription(body: bytes, probe: AudioProbe, bound: int) -> Metered:
    counted, estimated = probe.seconds()
    reported = reported_seconds(body)
    if reported is not None:
        limit = bound if estimated else counted
        return Metered(prompt_tokens=min(reported, limit), completion_tokens=0, reported_completion=None)
    return Metered(prompt_tokens=min(counted, bound), completion_tokens=0, estimated=estimated)
