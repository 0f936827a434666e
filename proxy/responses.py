"""Errors as BlackSheep responses for the cold routes (the body is built once, in `reply.error_reply`)."""

from __future__ import annotations

from blacksheep import Content, Response

from proxy.reply import error_reply


def error_response(status: int, message: str, request_id: bytes) -> Response:
    """The documented error body `{"error": {"message", "type", "code"}}` with x-request-id."""
    reply = error_reply(status, message, request_id)
    return Response(reply.status, reply.headers, Content(reply.content_type, reply.body))
