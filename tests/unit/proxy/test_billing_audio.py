"""Transcriptions are billed in whole seconds: the upstream's duration (capped), else our count."""

from __future__ import annotations

from fake_provider.audio import pcm_samples, wav_bytes
from proxy.billing.audio import AudioProbe, meter_transcription, reported_seconds, wav_seconds
from proxy.billing.bounds import upload_bounds


def probe_of(data: bytes, step: int = 1000) -> AudioProbe:
    probe = AudioProbe()
    for i in range(0, len(data), step):
        probe.feed(data[i:i + step])
    return probe


def test_wav_header_gives_exact_seconds() -> None:
    wav = wav_bytes(pcm_samples(2.25))
    assert wav_seconds(wav, len(wav)) == 3
    assert probe_of(wav).seconds() == (3, False)
    assert probe_of(b"\xff" * 40_000).seconds() == (3, True)  # 16,000 bytes a second, estimated


def test_reported_duration_wins_and_is_capped() -> None:
    assert reported_seconds(b'{"text":"x","duration":2.001}') == 3
    assert reported_seconds(b'{"text":"x","usage":{"type":"duration","seconds":4}}') == 4
    assert reported_seconds(b"plain transcript") is None
    wav = probe_of(wav_bytes(pcm_samples(1.0)))
    m = meter_transcription(b'{"text":"x","duration":9.5}', wav, bound=1000)
    assert (m.prompt_tokens, m.estimated) == (1, False)  # a WAV's own length caps the seller's report
    m = meter_transcription(b'{"text":"x","duration":9.5}', probe_of(b"\xff" * 100), bound=1000)
    assert (m.prompt_tokens, m.estimated) == (10, False)
    m = meter_transcription(b"text", probe_of(b"\xff" * 100), bound=1000)
    assert (m.prompt_tokens, m.estimated) == (1, True)


def test_upload_bound_from_content_length_or_limit() -> None:
    assert upload_bounds(2_500, 25_000_000).prompt_bound == 3
    assert upload_bounds(None, 25_000_000).prompt_bound == 25_000
    assert upload_bounds(10**12, 25_000_000).prompt_bound == 25_000
