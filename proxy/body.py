"""Reading a request body at the edge: content type, size limit (413) before buffering."""

from __future__ import annotations

from blacksheep import Request

from proxy.errors import BadRequest, BodyTooLarge


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Request body is larger than the {limit:,}-byte limit. Send a smaller request.")


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body bytes of a JSON request, refusing other content types and oversize bodies."""
    content_type = request.get_first_header(b"content-type")
    if content_type is not None:
        mime = content_type.split(b";", 1)[0].strip().lower()
        if mime != b"application/json" and not mime.endswith(b"+json"):
            raise BadRequest(
                f"Content-Type must be application/json, got '{mime.decode(errors='replace')}'. "
                "Send -H 'Content-Type: application/json'."
            )
    declared = request.get_first_header(b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BadRequest("Content-Length is not a number.") from None
        if length > limit:
            raise _too_large(limit)
        body = await request.read()
        if not body:
            raise BadRequest("Request body is empty. Send a JSON object.")
        return body
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # type: ignore[attr-defined]  # stub says Coroutine
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
    if not size:
        raise BadRequest("Request body is empty. Send a JSON object.")
    return b"".join(parts)
