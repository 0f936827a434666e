"""Knob parsing and merging: environment < path prefix < request body."""

from __future__ import annotations

import pytest

from fake_provider.app import retry_after_value, split_knob_prefix
from fake_provider.knobs import ENV_NAMES, KNOB_NAMES, KnobError, Knobs, from_body, from_env, merge, parse_pairs
from fake_provider.settings import DEFAULT_MODELS, load_settings


def test_defaults() -> None:
    knobs = Knobs()
    assert (knobs.ttft_ms, knobs.tps, knobs.chunks, knobs.usage, knobs.status) == (0, 0, 8, True, 200)
    assert (knobs.retry_after, knobs.close_after, knobs.hang, knobs.text, knobs.require_key) == (
        None, None, "", None, None,
    )


def test_every_knob_has_an_environment_variable() -> None:
    assert sorted(ENV_NAMES.values()) == sorted(KNOB_NAMES)
    assert ENV_NAMES["DF_FAKE_API_KEY"] == "require_key"
    assert ENV_NAMES["DF_FAKE_TTFT_MS"] == "ttft_ms"


def test_parse_pairs() -> None:
    assert parse_pairs("ttft_ms=200,tps=50,status=500") == {"ttft_ms": "200", "tps": "50", "status": "500"}
    assert parse_pairs("text=a=b,") == {"text": "a=b"}
    assert parse_pairs("") == {}


def test_parse_pairs_without_value_names_the_knob() -> None:
    with pytest.raises(KnobError, match="`chunks`"):
        parse_pairs("chunks")


def test_string_values_are_coerced() -> None:
    knobs = merge(Knobs(), parse_pairs("ttft_ms=12.5,tps=50,chunks=3,usage=false,close_after=2,hang=body"),
                  source="the path")
    assert knobs == Knobs(ttft_ms=12.5, tps=50, chunks=3, usage=False, close_after=2, hang="body")
    assert merge(knobs, {"close_after": "null"}, source="the path").close_after is None


@pytest.mark.parametrize(
    ("raw", "knob"),
    [
        ({"chunks": "x"}, "chunks"),
        ({"chunks": -1}, "chunks"),
        ({"tps": -0.5}, "tps"),
        ({"status": 99}, "status"),
        ({"hang": "forever"}, "hang"),
        ({"usage": "perhaps"}, "usage"),
        ({"close_after": 1.5}, "close_after"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_knobs_name_the_knob(raw: dict[str, object], knob: str) -> None:
    with pytest.raises(KnobError, match=f"`{knob}`"):
        merge(Knobs(), raw, source="test")


def test_env_defaults_and_empty_variables() -> None:
    env = {"DF_FAKE_TTFT_MS": "100", "DF_FAKE_CHUNKS": "3", "DF_FAKE_API_KEY": "sk-up", "DF_FAKE_TEXT": ""}
    assert from_env(env) == Knobs(ttft_ms=100, chunks=3, require_key="sk-up")
    with pytest.raises(KnobError, match="`tps`"):
        from_env({"DF_FAKE_TPS": "fast"})


def test_precedence_env_then_path_then_body() -> None:
    process = from_env({"DF_FAKE_CHUNKS": "3", "DF_FAKE_TPS": "10", "DF_FAKE_TTFT_MS": "5"})
    path = merge(process, parse_pairs("chunks=4,tps=20"), source="the path")
    final = from_body(path, {"model": "m", "fake": {"chunks": 5}})
    assert (final.chunks, final.tps, final.ttft_ms) == (5, 20, 5)


def test_from_body_ignores_bodies_without_fake_and_rejects_non_objects() -> None:
    base = Knobs(chunks=2)
    assert from_body(base, {"model": "m"}) is base
    assert from_body(base, None) is base
    assert from_body(base, [1, 2]) is base
    with pytest.raises(KnobError, match="`fake`"):
        from_body(base, {"fake": 3})


def test_knob_prefix_split() -> None:
    assert split_knob_prefix("/v1/chat/completions") == ("", "/v1/chat/completions")
    assert split_knob_prefix("/k/tps=5,chunks=2/v1/chat/completions") == ("tps=5,chunks=2", "/v1/chat/completions")
    assert split_knob_prefix("/k/tps=5") == ("tps=5", "/")


def test_retry_after_rendering() -> None:
    assert retry_after_value(2.0) == b"2"
    assert retry_after_value(0.25) == b"0.25"


def test_settings_from_env() -> None:
    settings = load_settings({"DF_FAKE_MODELS": "a, b", "DF_FAKE_STATUS": "503"})
    assert settings.models == ("a", "b")
    assert settings.knobs.status == 503
    assert load_settings({}).models == DEFAULT_MODELS


def test_trickle_knobs_parse_and_reject_zero_pieces() -> None:
    knobs = merge(Knobs(), parse_pairs("pieces=4,piece_ms=250"), source="the path")
    assert (knobs.pieces, knobs.piece_ms) == (4, 250.0)
    with pytest.raises(KnobError, match="`pieces`"):
        merge(Knobs(), {"pieces": 0}, source="the request body `fake` object")
