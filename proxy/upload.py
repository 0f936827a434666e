"""A multipart upload read from the client only as far as routing needs, then streamed on (edge I/O).

`Upload.read_head()` reads body chunks into a `FormHead` until `model` and the file part's
headers are known (or the body ends); `chunks(upstream_model)` yields the head with `model`
rewritten and then every further client chunk as it arrives, so the file goes to the seller
without being held. The size limit is enforced as bytes arrive: a declared Content-Length
over it is refused before reading; a body that grows past it stops the upload with
`BodyTooLarge` (413) — `too_large` tells the pipeline why the upstream request broke.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from proxy.edge import Headers, Receive
from proxy.errors import BadRequest, BodyTooLarge
from proxy.multipart import FormHead, boundary_of


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Upload is larger than the {limit:,}-byte limit. Send a smaller audio file.")


class Upload:
    __slots__ = ("_receive", "_limit", "head", "size", "more", "too_large")

    def __init__(self, headers: Headers, receive: Receive, limit: int) -> None:
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise BadRequest("Content-Length is not a number.")
            if int(declared) > limit:
                raise _too_large(limit)
        self.head = FormHead(boundary_of(headers.get(b"content-type")))
        self._receive = receive
        self._limit = limit
        self.size = 0
        self.more = True
        self.too_large = False

    async def _next(self) -> bytes:
        message = await self._receive()
        if message.get("type") == "http.disconnect":
            raise BadRequest("The client closed the connection during the upload.")
        chunk: bytes = message.get("body", b"")
        self.more = bool(message.get("more_body"))
        self.size += len(chunk)
        if self.size > self._limit:
            self.too_large = True
            raise _too_large(self._limit)
        return chunk

    async def read_head(self) -> None:
        while self.more and not self.head.ready:
            self.head.feed(await self._next())
        if not self.head.ready:
            self.head.finish()  # raises: the body ended without model or file

    async def chunks(self, upstream_model: str,
                     file_bytes: Callable[[bytes], None] | None = None) -> AsyncIterator[bytes]:
        """The body for the seller; `file_bytes` (metering) is given the file's bytes as they pass
        (from the file part's start: a trailing field or boundary is counted too, a few bytes)."""
        head = self.head
        if file_bytes is not None and head.file_offset >= 0:
            file_bytes(bytes(head.buffer[head.file_offset:]))
        yield head.head_with_model(upstream_model)
        head.buffer.clear()
        while self.more:
            chunk = await self._next()
            if chunk:
                if file_bytes is not None:
                    file_bytes(chunk)
                yield chunk
