"""The public model catalog Dragonfly launches with (from the seed price list).

Prices are integer micro-USD per million tokens (`wire.money`). Output caps and aliases match
the seeded catalog (control_plane/migrations/0015_catalog.sql).
"""

from __future__ import annotations

from wire.snapshot import Model

_K = 1_000


def _m(model_id: str, inp: int, out: int, ctx: int, caps: tuple[str, ...] = ("chat",), max_out: int = 8_192,
       aliases: tuple[str, ...] = ()) -> Model:
    return Model(id=model_id, owned_by=model_id.split("/", 1)[0], input_price=inp, output_price=out,
                 context_length=ctx, capabilities=caps, max_output_tokens=max_out, aliases=aliases)


CHAT_MODELS: tuple[Model, ...] = (
    _m("deepseek/deepseek-chat", 500_000, 1_500_000, 128 * _K, ("chat", "code"), aliases=("deepseek-chat",)),
    _m("deepseek/deepseek-reasoner", 2_000_000, 8_000_000, 128 * _K, ("chat", "reasoning"), 32_768,
       ("deepseek-reasoner",)),
    _m("qwen/qwen3-235b-a22b", 1_000_000, 4_000_000, 128 * _K, ("chat", "code")),
    _m("qwen/qwen3-30b-a3b", 500_000, 2_000_000, 128 * _K),
    _m("moonshot/kimi-k2", 1_000_000, 4_000_000, 128 * _K, ("chat", "agents"), 32_768, ("kimi-k2",)),
    _m("zhipu/glm-5-0131", 1_000_000, 4_000_000, 128 * _K, ("chat", "multimodal")),
    _m("doubao/doubao-1.5-pro-256k", 300_000, 900_000, 256 * _K),
    _m("minimax/minimax-m2.5", 800_000, 2_400_000, 1_000 * _K, max_out=32_768),
    _m("minimax/minimax-m2.5-highspeed", 400_000, 1_200_000, 1_000 * _K, max_out=32_768),
)
