"""What a hot-path handler answers, independent of the server interface (pure)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from wire.errors import anthropic_error_body, openai_error_body

JSON = b"application/json"


@dataclass(slots=True)
class Reply:
    status: int
    content_type: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncGenerator[bytes, None] | None = None  # set for streamed replies; closed by the edge
    attempts: list[Any] = field(default_factory=list)  # proxy.market.Attempt per upstream try (metering)


def error_reply(status: int, message: str, request_id: bytes,
                extra: list[tuple[bytes, bytes]] | None = None) -> Reply:
    """The documented error body `{"error": {"message", "type", "code"}}` with x-request-id
    (and `extra` headers: rate-limit figures, Retry-After)."""
    headers = [(b"x-request-id", request_id)]
    if extra:
        headers.extend(extra)
    if status >= 500:
        headers.append((b"x-should-retry", b"true"))
    return Reply(status=status, content_type=JSON, headers=headers, body=openai_error_body(status, message))


def anthropic_error_reply(status: int, message: str, request_id: bytes,
                          extra: list[tuple[bytes, bytes]] | None = None) -> Reply:
    """Anthropic's error shape `{"type":"error","error":{"type","message"}}` for `/v1/messages`,
    with `request-id` (what the Anthropic SDK reads) as well as x-request-id."""
    reply = error_reply(status, message, request_id, extra)
    reply.headers.append((b"request-id", request_id))
    reply.body = anthropic_error_body(status, message)
    return reply
