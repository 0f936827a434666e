"""Per-endpoint bounds: what a request is billed in and the most it may use."""

from __future__ import annotations

from proxy.billing.bounds import json_bounds
from proxy.validation import parse_chat
from proxy.validation_media import parse_embeddings, parse_speech
from proxy.validation_messages import parse_messages


def test_bounds_per_endpoint() -> None:
    chat = b'{"model":"m","messages":[{"role":"user","content":"abcdefgh"}]}'
    b = json_bounds(parse_chat(chat), len(chat), 8192)
    assert b is not None and (b.unit, b.prompt_bound, b.cap, b.prompt_estimate) == ("token", len(chat), 8192, 2)
    msgs = b'{"model":"m","max_tokens":50,"system":"abcd","messages":[{"role":"user","content":"abcde"}]}'
    b = json_bounds(parse_messages(msgs), len(msgs), 8192)
    assert b is not None and (b.unit, b.prompt_bound, b.cap, b.prompt_estimate) == ("token", len(msgs), 50, 3)
    emb = b'{"model":"m","input":["abcd","efghi",[1,2,3]]}'
    b = json_bounds(parse_embeddings(emb), len(emb), 8192)
    assert b is not None and (b.cap, b.prompt_estimate) == (0, 3 + 3)
    speech = b'{"model":"m","input":"h\xc3\xa9llo","voice":"alloy"}'
    b = json_bounds(parse_speech(speech), len(speech), 4096)
    assert b is not None and (b.unit, b.prompt_bound, b.cap, b.prompt_estimate) == ("character", 5, 0, 5)
