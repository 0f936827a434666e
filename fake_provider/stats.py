"""Counters and a bounded ring of recorded requests, per worker process.

``GET /_stats`` returns::

    {"requests": int,             # requests served, except /healthz and the /_* control endpoints
     "errors": int,               # of those, answered with a status >= 400
     "in_flight": int,            # requests being handled right now
     "streams_started": int,      # SSE responses whose headers were sent
     "streams_completed": int,    # ... that sent data: [DONE]
     "streams_disconnected": int, # ... whose client went away before the end
     "streams_aborted": int}      # ... cut on purpose by the close_after knob

``GET /_requests?last=N`` returns the last N recorded requests (oldest first)::

    {"requests": [{"method": str, "path": str, "query": str,
                   "headers": {lowercased name: value}, "body": <parsed JSON or null>}, ...]}

``path`` is the raw request path, including any ``/k/<knobs>`` prefix. Repeated headers are joined with
``", "``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec
import orjson

RING_SIZE = 200


class RecordedRequest(msgspec.Struct, frozen=True):
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: object


def header_dict(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class Stats:
    __slots__ = (
        "requests",
        "errors",
        "in_flight",
        "streams_started",
        "streams_completed",
        "streams_disconnected",
        "streams_aborted",
        "_ring",
    )

    def __init__(self, ring_size: int = RING_SIZE) -> None:
        self._ring: deque[RecordedRequest] = deque(maxlen=ring_size)
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero the counters (except ``in_flight``, which tracks live requests) and clear the ring."""
        self.requests = 0
        self.errors = 0
        self.streams_started = 0
        self.streams_completed = 0
        self.streams_disconnected = 0
        self.streams_aborted = 0
        self._ring.clear()

    def record(self, request: RecordedRequest) -> None:
        self._ring.append(request)

    def counters(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "in_flight": self.in_flight,
            "streams_started": self.streams_started,
            "streams_completed": self.streams_completed,
            "streams_disconnected": self.streams_disconnected,
            "streams_aborted": self.streams_aborted,
        }

    def counters_json(self) -> bytes:
        return orjson.dumps(self.counters())

    def last(self, n: int) -> list[RecordedRequest]:
        if n <= 0:
            return []
        items = list(self._ring)
        return items[-n:]

    def last_json(self, n: int) -> bytes:
        return msgspec.json.encode({"requests": self.last(n)})
