"""Model aliases resolve to their catalog id (never to two models, never over a model id), and a
chat request without a cap is reserved and sent upstream with the model's max_output_tokens."""

from __future__ import annotations

import orjson

from proxy.billing.bounds import json_bounds
from proxy.exchange import cap_max_tokens
from proxy.snapshot.index import build_index
from proxy.validation import parse_chat
from wire.snapshot import Model, Snapshot


def _model(mid: str, aliases: tuple[str, ...] = (), max_out: int = 0) -> Model:
    return Model(id=mid, owned_by=mid.split("/")[0], input_price=1, output_price=120_000_000,
                 context_length=128_000, max_output_tokens=max_out, aliases=aliases)


def test_aliases_resolve_and_clashes_resolve_to_nothing() -> None:
    index = build_index(Snapshot(models=(
        _model("d/chat", ("chat-1", "shared", "o/other")), _model("o/other", ("shared",)),
    )))
    assert index.canonical("chat-1") == "d/chat"
    assert index.canonical("d/chat") == "d/chat"
    assert index.canonical("o/other") == "o/other"  # a model id is never an alias of another model
    assert index.canonical("shared") == "shared"  # claimed twice: no model (404), never a guess
    listed = {m["id"]: m for m in orjson.loads(index.models_json)["data"]}
    assert listed["d/chat"]["aliases"] == ["chat-1", "shared", "o/other"]
    assert listed["d/chat"]["max_output_tokens"] == 128_000  # no cap of its own: the context length


def test_no_cap_means_the_models_max_output_tokens_reserved_and_sent() -> None:
    raw = orjson.dumps({"model": "d/chat", "messages": [{"role": "user", "content": "hi"}]})
    view = parse_chat(raw)
    body = cap_max_tokens(raw, view, 4_096)
    assert orjson.loads(body)["max_tokens"] == 4_096
    bounds = json_bounds(view, len(body), 4_096)
    assert bounds is not None and bounds.cap == 4_096
    # 4,096 tokens at $120/M is $0.49 reserved, not 128k x $120/M = $15.36
    n2 = parse_chat(orjson.dumps({"model": "d/chat", "n": 2, "messages": [{"role": "user", "content": "hi"}]}))
    cap_max_tokens(raw, n2, 4_096)
    assert json_bounds(n2, 10, 4_096).cap == 8_192  # type: ignore[union-attr]


def test_a_given_cap_is_left_alone() -> None:
    raw = orjson.dumps({"model": "d/chat", "max_completion_tokens": 10, "messages": [{"role": "user", "content": "x"}]})
    view = parse_chat(raw)
    assert cap_max_tokens(raw, view, 4_096) == raw
    assert json_bounds(view, len(raw), 4_096).cap == 10  # type: ignore[union-attr]
