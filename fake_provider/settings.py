"""Process settings of the fake provider, from ``DF_FAKE_*`` environment variables.

- ``DF_FAKE_<KNOB>`` / ``DF_FAKE_API_KEY``: default knobs (see :mod:`fake_provider.knobs`);
- ``DF_FAKE_MODELS``: comma-separated model names listed by ``GET /v1/models`` (besides every model
  name the process has been asked about); default ``fake-model,gpt-4o-mini,text-embedding-3-small``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

from fake_provider.knobs import Knobs, from_env

DEFAULT_MODELS: tuple[str, ...] = ("fake-model", "gpt-4o-mini", "text-embedding-3-small")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    knobs: Knobs = Knobs()
    models: tuple[str, ...] = DEFAULT_MODELS
    ring_size: int = 200


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    models_var = env.get("DF_FAKE_MODELS", "")
    models = tuple(name.strip() for name in models_var.split(",") if name.strip()) or DEFAULT_MODELS
    return Settings(knobs=from_env(env), models=models)
