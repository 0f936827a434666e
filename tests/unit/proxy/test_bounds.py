"""Per-endpoint bounds: what a request is billed in, the most it may use, and our own prompt count."""

from __future__ import annotations

import bpe_openai

from proxy.billing.bounds import json_bounds
from proxy.validation import parse_chat
from proxy.validation_media import parse_embeddings, parse_speech
from proxy.validation_messages import parse_messages

CL100K = bpe_openai.get_encoding("cl100k_base")


def tokens(*texts: str) -> int:
    return sum(len(CL100K.encode_ordinary(t)) for t in texts)


def test_bounds_per_endpoint() -> None:
    chat = b'{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"How are you?"}]}'
    b = json_bounds(parse_chat(chat), len(chat), 8192, "deepseek")
    assert b is not None and (b.unit, b.prompt_bound, b.cap) == ("token", len(chat), 8192)
    assert b.estimate() == tokens("Be brief.", "How are you?")
    msgs = b'{"model":"m","max_tokens":50,"system":"Answer in French.","messages":[{"role":"user","content":"Hello there"}]}'
    b = json_bounds(parse_messages(msgs), len(msgs), 8192, "anthropic")
    assert b is not None and (b.unit, b.prompt_bound, b.cap) == ("token", len(msgs), 50)
    assert b.estimate() == tokens("Answer in French.", "Hello there")
    emb = b'{"model":"m","input":["vector search","embeddings",[1,2,3]]}'
    b = json_bounds(parse_embeddings(emb), len(emb), 8192, "openai")
    assert b is not None and b.cap == 0 and b.estimate() == tokens("vector search", "embeddings") + 3
    speech = b'{"model":"m","input":"h\xc3\xa9llo","voice":"alloy"}'
    b = json_bounds(parse_speech(speech), len(speech), 4096)
    assert b is not None and (b.unit, b.prompt_bound, b.cap, b.estimate()) == ("character", 5, 0, 5)


def test_special_token_markers_count_as_text() -> None:
    chat = b'{"model":"m","messages":[{"role":"user","content":"<|endoftext|>"}]}'
    b = json_bounds(parse_chat(chat), len(chat), 100)
    assert b is not None and b.estimate() == len(CL100K.encode_ordinary("<|endoftext|>")) > 1
