"""Behaviour knobs of the fake provider, and how they are parsed and merged.

Knobs come from three sources; later ones override earlier ones, knob by knob:

1. process defaults, from ``DF_FAKE_<NAME>`` environment variables (``DF_FAKE_TTFT_MS``,
   ``DF_FAKE_TPS``, ``DF_FAKE_CHUNKS``, ``DF_FAKE_USAGE``, ``DF_FAKE_STATUS``, ``DF_FAKE_RETRY_AFTER``,
   ``DF_FAKE_CLOSE_AFTER``, ``DF_FAKE_HANG``, ``DF_FAKE_TEXT``, ``DF_FAKE_SPACED``, ``DF_FAKE_CRLF``,
   ``DF_FAKE_PIECES``, ``DF_FAKE_PIECE_MS``, ``DF_FAKE_PROMPT_TOKENS``, ``DF_FAKE_COMPLETION_TOKENS``,
   ``DF_FAKE_CACHED_TOKENS``, ``DF_FAKE_LIMIT_FIELD``, ``DF_FAKE_SERVE_MODEL``, ``DF_FAKE_USAGE_FACTOR``,
   ``DF_FAKE_REJECT_AFTER``, and ``DF_FAKE_API_KEY`` for ``require_key``); an
   empty variable counts as unset;
2. a path prefix ``/k/<name>=<value>,<name>=<value>/v1/...``;
3. a ``"fake"`` object in the JSON request body.

Values from the environment and the path are strings and are coerced (``"true"``/``"false"``/``"1"``/``"0"``
for booleans, ``"null"`` for an optional knob's "unset"); body values are JSON values. An unknown knob or an
invalid value raises :class:`KnobError` whose message names the knob.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

Hang = Literal["", "headers", "body"]
LimitField = Literal["", "max_tokens", "max_completion_tokens"]


class Knobs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the fake provider behaves for one request."""

    ttft_ms: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """Delay before the first content chunk (for JSON: before the response)."""
    tps: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """Content tokens per second: delay 1/tps between content chunks; 0 = no delay."""
    chunks: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 8
    """Number of content tokens (ignored when ``text`` is set: one token per word)."""
    usage: bool = True
    """Whether usage is reported at all (JSON ``usage`` and the streamed usage chunk)."""
    status: Annotated[int, msgspec.Meta(ge=200, le=599)] = 200
    """If >= 400, answer this status with an OpenAI-shaped error body."""
    retry_after: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """Send ``Retry-After`` with the error; alone (status 200) it turns the answer into a 429."""
    close_after: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Streams only: abort the connection after this many content chunks (no ``[DONE]``)."""
    hang: Hang = ""
    """``headers``: never send headers; ``body``: stop after the first content chunk (JSON: after headers)."""
    text: str | None = None
    """Fixed content, streamed word by word, instead of ``tok0 tok1 ...``."""
    spaced: bool = False
    """JSON answers and streamed events in ``json.dumps`` default spacing (:mod:`fake_provider.styles`)."""
    crlf: bool = False
    """Streams: lines end in CRLF instead of LF."""
    pieces: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    """JSON answers: send the body in this many pieces without a Content-Length (chunked), ``piece_ms`` apart."""
    piece_ms: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """JSON answers with ``pieces`` > 1: the pause before each piece after the first (a slow, trickling answer)."""
    require_key: str | None = None
    """If set, requests must carry ``Authorization: Bearer <require_key>`` (or ``x-api-key``) else 401."""
    prompt_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Chat: report this ``prompt_tokens`` instead of the rule's count (a seller that over-reports)."""
    completion_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Chat: report this ``completion_tokens`` (JSON and the streamed usage chunk) whatever was sent."""
    cached_tokens: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Chat: report this ``prompt_tokens_details.cached_tokens``."""
    limit_field: LimitField = ""
    serve_model: str | None = None
    """Chat and messages: name this model in the answer instead of the requested one (a substituting seller)."""
    usage_factor: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    """Chat: report prompt and completion tokens times this factor (``2``: a seller that double-reports)."""
    reject_after: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Answer this many POSTs under this ``/k/`` path prefix, then 401 to every POST (a key revoked after
    admission). Counted per prefix string for the process's life."""
    """Chat: which max-token field cuts the answer: ``""`` the first present of ``max_completion_tokens``,
    ``max_tokens``; ``"max_tokens"`` only ``max_tokens`` (as many upstreams do), or only ``max_completion_tokens``."""


KNOB_NAMES: tuple[str, ...] = Knobs.__struct_fields__

ENV_NAMES: dict[str, str] = {
    **{f"DF_FAKE_{name.upper()}": name for name in KNOB_NAMES if name != "require_key"},
    "DF_FAKE_API_KEY": "require_key",
}


class KnobError(ValueError):
    """An unknown knob name or an invalid knob value; the message names the knob."""


def parse_pairs(spec: str) -> dict[str, str]:
    """Parse ``name=value,name=value`` (the ``/k/<spec>/`` path segment) into raw string values."""
    raw: dict[str, str] = {}
    for item in spec.split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise KnobError(f"fake knob `{name}` has no value: write `{name}=<value>` in the /k/ path segment")
        raw[name.strip()] = value
    return raw


def merge(base: Knobs, raw: Mapping[str, object], *, source: str) -> Knobs:
    """Return ``base`` with the knobs in ``raw`` overriding it; ``source`` names where they came from."""
    if not raw:
        return base
    changes: dict[str, object] = {}
    for name, value in raw.items():
        if name not in KNOB_NAMES:
            raise KnobError(f"unknown fake knob `{name}` in {source}; known knobs: {', '.join(KNOB_NAMES)}")
        try:
            parsed = msgspec.convert({name: value}, Knobs, strict=False)
        except msgspec.ValidationError as exc:
            reason = str(exc).split(" - at ")[0]
            raise KnobError(f"invalid value {value!r} for fake knob `{name}` in {source}: {reason}") from None
        changes[name] = getattr(parsed, name)
    return msgspec.structs.replace(base, **changes)


def from_env(env: Mapping[str, str], base: Knobs | None = None) -> Knobs:
    """Process defaults from ``DF_FAKE_*`` environment variables."""
    raw = {knob: env[var] for var, knob in ENV_NAMES.items() if env.get(var)}
    return merge(base or Knobs(), raw, source="the environment")


def from_body(base: Knobs, body: object) -> Knobs:
    """Apply the ``"fake"`` object of a parsed JSON request body, if any."""
    if not isinstance(body, dict):
        return base
    fake = body.get("fake")
    if fake is None:
        return base
    if not isinstance(fake, dict):
        raise KnobError("the `fake` field of the request body must be an object of knobs")
    return merge(base, fake, source="the request body `fake` object")
