"""Wire formatting styles other servers use, for the ``spaced`` and ``crlf`` knobs (pure).

- **spaced**: JSON in the style of Python's ``json.dumps`` defaults (``", "`` between items,
  ``": "`` after keys; non-ASCII left as UTF-8), as many self-hosted servers write it; applies to
  JSON answers and to each streamed event's ``data``.
- **crlf**: streamed lines end in CRLF instead of LF (the blank line that ends an event too).
"""

from __future__ import annotations

import orjson

from fake_provider.sse import Events


def spaced(value: object) -> bytes:
    """``value`` encoded like ``json.dumps(value, ensure_ascii=False)``."""
    if isinstance(value, dict):
        return b"{" + b", ".join(orjson.dumps(str(k)) + b": " + spaced(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b", ".join(spaced(v) for v in value) + b"]"
    return orjson.dumps(value)


def restyle_json(body: bytes) -> bytes:
    return spaced(orjson.loads(body))


def restyle_event(event: bytes, *, spaced_json: bool, crlf: bool) -> bytes:
    """One ``field: value`` SSE event (LF line ends) in the chosen style."""
    lines = event.split(b"\n")
    if spaced_json:
        lines = [b"data: " + restyle_json(line[6:]) if line.startswith(b"data: {") else line for line in lines]
    return (b"\r\n" if crlf else b"\n").join(lines)


def restyle_events(events: Events, *, spaced_json: bool, crlf: bool) -> Events:
    if not spaced_json and not crlf:
        return events

    def each(part: tuple[bytes, ...]) -> tuple[bytes, ...]:
        return tuple(restyle_event(e, spaced_json=spaced_json, crlf=crlf) for e in part)

    return Events(each(events.opening), each(events.steps), each(events.closing))
