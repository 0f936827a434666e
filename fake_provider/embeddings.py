"""``POST /v1/embeddings``: deterministic vectors (``dimensions`` long, default 8), float or base64."""

from __future__ import annotations

from fake_provider.asgi_io import JSON_TYPE, Receive, Send
from fake_provider.bodies import DEFAULT_DIMENSIONS, embeddings_json
from fake_provider.content import embedding_input_tokens
from fake_provider.knobs import Knobs
from fake_provider.pacing import send_json

MAX_DIMENSIONS = 8192


def input_texts(value: object) -> list[str]:
    """The texts to embed: strings as they are, token-id lists by their JSON-ish repr."""
    if isinstance(value, str):
        return [value]
    assert isinstance(value, list)
    if all(isinstance(item, int) for item in value):
        return [repr(value)]
    return [item if isinstance(item, str) else repr(item) for item in value]


async def embeddings(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs) -> str | None:
    """Answer the request, or return the 400 message without sending anything."""
    value = body.get("input")
    tokens = embedding_input_tokens(value)
    if tokens is None:
        return "`input` must be a non-empty string, list of strings, or list of token ids"
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= MAX_DIMENSIONS:
        return f"`dimensions` must be an integer between 1 and {MAX_DIMENSIONS}"
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64", None):
        return "`encoding_format` must be 'float' or 'base64'"
    encoded = embeddings_json(input_texts(value), model=str(body["model"]), dimensions=dimensions,
                              as_base64=encoding == "base64", prompt_tokens=tokens, usage=knobs.usage)
    await send_json(receive, send, knobs, 200, [JSON_TYPE], encoded)
    return None
