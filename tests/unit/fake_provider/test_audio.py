"""The fake provider's audio: a real WAV whose header gives back its length; form parsing."""

from __future__ import annotations

from fake_provider.audio import parse_form, pcm_samples, speech_problem, wav_bytes, wav_seconds


def test_wav_is_real_and_measurable() -> None:
    data = wav_bytes(pcm_samples(1.5))
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    assert wav_seconds(data) == 1.5
    assert wav_seconds(b"\xff\xfb" * 50) is None


def test_speech_rules() -> None:
    assert speech_problem({"input": "hi", "voice": "alloy"}) is None
    assert speech_problem({"input": "hi", "voice": "alloy", "speed": 4.5}) is not None
    assert speech_problem({"input": "", "voice": "alloy"}) is not None


def test_parse_form() -> None:
    body = (b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nw\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'
            b'DATA\r\n--b--\r\n')
    form = parse_form(body, "multipart/form-data; boundary=b")
    assert form == {"model": "w", "file": {"filename": "a.wav", "content_type": "audio/wav", "data": b"DATA"}}
    assert parse_form(body, "application/json") is None
