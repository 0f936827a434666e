"""Rate-limit response headers and wait phrases (pure).

Every inference answer after the key is known carries, for the request limit,
`X-RateLimit-Limit` (L), `X-RateLimit-Remaining` (left in the rolling window, counting down
from L) and `X-RateLimit-Reset` (whole seconds, rounded up: until the next request is admitted
when exhausted, else until the whole window is free), and OpenAI's
`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with the resets in OpenAI's duration
format (`duration`: `6m0s`, `1s`, `20ms`). A 429 adds `Retry-After` (integer seconds >= 1)
and `retry-after-ms`.
"""

from __future__ import annotations

import math

Header = tuple[bytes, bytes]


def duration(seconds: float) -> str:
    """OpenAI's reset format: `20ms` below a second, else `1h2m3s` / `6m0s` / `7.66s`."""
    ms = math.ceil(seconds * 1000) if seconds > 0 else 0
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    secs = f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def retry_headers(wait: float) -> list[Header]:
    return [(b"retry-after", str(max(1, math.ceil(wait))).encode()),
            (b"retry-after-ms", str(max(1, math.ceil(wait * 1000))).encode())]


def request_headers(limit: float, left: float, reset: float) -> list[Header]:
    cap, rest = b"%d" % limit, b"%d" % (left if left > 0 else 0)
    return [(b"x-ratelimit-limit", cap), (b"x-ratelimit-remaining", rest),
            (b"x-ratelimit-reset", b"%d" % (math.ceil(reset) if reset > 0 else 0)),
            (b"x-ratelimit-limit-requests", cap), (b"x-ratelimit-remaining-requests", rest),
            (b"x-ratelimit-reset-requests", duration(reset).encode())]


def token_headers(limit: float, left: float, reset: float) -> list[Header]:
    return [(b"x-ratelimit-limit-tokens", b"%d" % limit),
            (b"x-ratelimit-remaining-tokens", b"%d" % (left if left > 0 else 0)),
            (b"x-ratelimit-reset-tokens", duration(reset).encode())]


def until_midnight(seconds: float) -> str:
    """`in 3h12m` style phrase for a daily reset."""
    minutes = max(1, math.ceil(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
