"""``POST /v1/audio/speech`` and ``POST /v1/audio/transcriptions``: real audio, deterministic.

Speech: a real WAV (16 kHz, mono, 16-bit PCM, a 440 Hz tone) lasting ``0.05 s × len(input) / speed``
(at least 0.2 s, at most 30 s), sent in 4 KiB chunks as ``audio/wav`` (``response_format: "pcm"`` sends
the raw samples as ``audio/pcm``; every other format gets the WAV, labelled ``audio/wav``). ``speed``
must be 0.25–4.0, ``input`` 1–4096 characters.

Transcription: a multipart upload with a ``file`` part and a ``model`` field. Its length in seconds is
that of a PCM WAV as a decoder plays it (the samples present at the rate its format implies), else
estimated at 16,000 bytes per second (128 kbit/s). The answer is
``{"text": "fake transcript of <name> (<n> bytes)", "usage": {"type": "duration", "seconds": <ceil>}}``,
``text/plain`` for ``response_format: "text"``, plus ``duration``/``language``/``segments`` for
``verbose_json``.
"""

from __future__ import annotations

import array
import math
import struct

import orjson

from fake_provider.asgi_io import JSON_TYPE, Receive, Send, respond
from fake_provider.knobs import Knobs

RATE = 16_000
CHUNK = 4096
BYTES_PER_SECOND_ESTIMATE = 16_000


def pcm_samples(seconds: float) -> bytes:
    count = int(RATE * seconds)
    tone = array.array("h", (int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(count)))
    return tone.tobytes()


def wav_bytes(pcm: bytes) -> bytes:
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, RATE,
                         RATE * 2, 2, 16, b"data", len(pcm))
    return header + pcm


def wav_seconds(data: bytes) -> float | None:
    """Length of a PCM WAV as a decoder plays it (sample rate x channels x bits of its format over
    the samples present, up to a declared ``data`` length; the header's ``byte_rate`` is ignored), or None."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    rate, size = 0, 0
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if kind == b"fmt " and pos + 24 <= len(data):
            _, channels, sample_rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
            rate = sample_rate * channels * bits // 8
        elif kind == b"data":
            size = len(data) - pos - 8
            if 0 < length < 0xFFFFFFFF:  # a declared length stops the decoder; 0 / max: to the end
                size = min(size, length)
            break
        pos += 8 + length
    return size / rate if rate else None


def speech_problem(body: dict[str, object]) -> str | None:
    text, speed = body.get("input"), body.get("speed", 1.0)
    if not isinstance(text, str) or not 1 <= len(text) <= 4096:
        return "`input` must be a string of 1 to 4096 characters"
    if not isinstance(body.get("voice"), str | dict):
        return "`voice` is required"
    if not isinstance(speed, int | float) or isinstance(speed, bool) or not 0.25 <= speed <= 4.0:
        return "`speed` must be between 0.25 and 4.0"
    return None


async def speech(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs) -> str | None:
    problem = speech_problem(body)
    if problem is not None:
        return problem
    text, speed = str(body["input"]), float(body.get("speed", 1.0))  # type: ignore[arg-type]
    seconds = min(30.0, max(0.2, 0.05 * len(text) / speed))
    pcm = pcm_samples(seconds)
    raw = body.get("response_format") == "pcm"
    data = pcm if raw else wav_bytes(pcm)
    ctype = b"audio/pcm" if raw else b"audio/wav"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode())]})
    for i in range(0, len(data), CHUNK):
        await send({"type": "http.response.body", "body": data[i:i + CHUNK], "more_body": i + CHUNK < len(data)})
    return None


def parse_form(raw: bytes, content_type: str) -> dict[str, object] | None:
    """Fields of a multipart/form-data body; the file as {filename, content_type, data}."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        return None
    out: dict[str, object] = {}
    for part in raw.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part[2:].partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        name, filename, ctype = "", None, ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "content-type":
                ctype = value.strip()
            for param in value.split(";")[1:] if key.lower() == "content-disposition" else []:
                pname, _, pvalue = param.strip().partition("=")
                if pname == "name":
                    name = pvalue.strip('"')
                elif pname == "filename":
                    filename = pvalue.strip('"')
        out[name] = data.decode("utf-8", "replace") if filename is None else {
            "filename": filename, "content_type": ctype, "data": data}
    return out


async def transcription(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs) -> str | None:
    upload = body.get("file")
    if not isinstance(upload, dict):
        return "`file` is required (a multipart file part)"
    data = upload["data"]
    assert isinstance(data, bytes)
    seconds = wav_seconds(data)
    if seconds is None:
        seconds = len(data) / BYTES_PER_SECOND_ESTIMATE
    text = f"fake transcript of {upload['filename']} ({len(data)} bytes)"
    fmt = body.get("response_format", "json")
    if fmt == "text":
        await respond(send, 200, text.encode(), [(b"content-type", b"text/plain; charset=utf-8")])
        return None
    answer: dict[str, object] = {"text": text}
    if fmt == "verbose_json":
        answer.update(task="transcribe", language="english", duration=round(seconds, 3), segments=[])
    if knobs.usage:
        answer["usage"] = {"type": "duration", "seconds": math.ceil(seconds)}
    await respond(send, 200, orjson.dumps(answer), [JSON_TYPE])
    return None
