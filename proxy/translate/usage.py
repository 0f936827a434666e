"""One usage shape for both dialects, so metering and billing see the same numbers (pure).

`prompt_tokens` counts every input token, cached ones included (OpenAI's `prompt_tokens`;
Anthropic's `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`);
`cached_tokens` is the part read from cache (`prompt_tokens_details.cached_tokens` /
`cache_read_input_tokens`); `completion_tokens` is `completion_tokens` / `output_tokens`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def from_openai(usage: dict[str, Any] | None) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return Usage(prompt_tokens=_int(usage.get("prompt_tokens")),
                 completion_tokens=_int(usage.get("completion_tokens")), cached_tokens=cached)


def from_anthropic(usage: dict[str, Any] | None) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    read = _int(usage.get("cache_read_input_tokens"))
    created = _int(usage.get("cache_creation_input_tokens"))
    return Usage(prompt_tokens=_int(usage.get("input_tokens")) + read + created,
                 completion_tokens=_int(usage.get("output_tokens")), cached_tokens=read,
                 cache_creation_tokens=created)


def to_openai(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def to_anthropic(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens - usage.cached_tokens - usage.cache_creation_tokens,
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }
