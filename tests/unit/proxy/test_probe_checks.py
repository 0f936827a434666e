"""What an admission probe concludes from an answer (pure): model names, usage, fingerprints."""

from __future__ import annotations

from proxy.billing.meter import Metered, Usage
from proxy.probe.checks import model_matches, reported_model, status_checks, stream_checks

OPENAI = (b'data: {"id":"c","object":"chat.completion.chunk","model":"deepseek-chat-0324","choices":[]}\n\n'
          b"data: [DONE]\n\n")
ANTHROPIC = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"claude-x",'
             b'"usage":{"input_tokens":3}}}\n\n')


def passed(checks: tuple[object, ...]) -> dict[str, bool]:
    return {c.name: c.passed for c in checks}  # type: ignore[attr-defined]


def test_the_reported_model_name_is_read_from_either_dialect() -> None:
    assert reported_model(OPENAI) == "deepseek-chat-0324"
    assert reported_model(ANTHROPIC) == "claude-x"
    assert reported_model(b"data: [DONE]\n\n") is None


def test_a_model_matches_itself_a_dated_variant_or_a_catalog_name_never_another_model() -> None:
    assert model_matches("deepseek-chat", "deepseek-chat")
    assert model_matches("deepseek/deepseek-chat", "deepseek-chat")
    assert model_matches("deepseek-chat-2025-01-01", "deepseek-chat")
    assert model_matches("ds-v3", "deepseek-chat", ("ds-v3",))
    assert model_matches("claude-sonnet-4-20250514", "claude-sonnet-4-latest")
    assert not model_matches("deepseek-chat-lite", "deepseek-chat")
    assert not model_matches("qwen3-30b-a3b", "qwen3")  # a sibling, not a dated release
    assert not model_matches("qwen3-30b-a3b", "qwen3-235b-a22b")


def test_401_fails_auth_and_500_fails_answers() -> None:
    assert passed(status_checks(401, "bad key")) == {"auth": False}
    assert passed(status_checks(500, "boom")) == {"auth": True, "answers": False}


def test_over_reported_usage_a_substituted_model_and_a_foreign_tokenizer_each_fail_their_check() -> None:
    honest = Usage(prompt_tokens=30, completion_tokens=8)
    ok = stream_checks(finished=True, events=8, usage=honest, metered=Metered(prompt_tokens=30, completion_tokens=8),
                       model="kimi-k2", upstream_model="kimi-k2", expect={"prompt_tokens": [25, 35]})
    assert all(passed(ok).values())
    bad = stream_checks(finished=False, events=8, usage=Usage(prompt_tokens=60, completion_tokens=16),
                        metered=Metered(prompt_tokens=40, completion_tokens=10, mismatch=True), model="cheap-7b",
                        upstream_model="kimi-k2", expect={"prompt_tokens": [25, 35]})
    assert {k for k, v in passed(bad).items() if not v} == {"streaming", "usage", "model_name", "fingerprint"}
