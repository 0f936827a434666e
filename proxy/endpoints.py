"""The inference endpoints and what each needs from a listing (pure).

An `Endpoint` names the caller's dialect (the error shape it answers in and how the key is
sent), the listing capability that can serve it, and how its body is checked. Routing is
shared: the pipeline takes the model's listings cheapest first and keeps those `eligible`
for the endpoint (the capability, and for non-chat endpoints an OpenAI-format upstream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from proxy.snapshot.index import ListingEntry
from proxy.validation import parse_chat
from proxy.validation_media import parse_embeddings, parse_speech
from proxy.validation_messages import parse_messages

Kind = Literal["chat", "messages", "embeddings", "speech", "transcriptions"]
Dialect = Literal["openai", "anthropic"]


class View(Protocol):
    """What the pipeline reads from every request body view."""

    model: str  # the pipeline replaces an alias with its canonical id

    @property
    def stream(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    kind: Kind
    dialect: Dialect  # the caller's: error shape and key header
    capability: str  # a listing must carry it (wire.snapshot.KINDS)
    parse: Callable[[bytes], View] | None  # None: not a JSON body (multipart upload)
    upstream_path: str  # appended to an OpenAI-format listing's base_url


CHAT = Endpoint("/v1/chat/completions", "chat", "openai", "chat", parse_chat, "/chat/completions")
MESSAGES = Endpoint("/v1/messages", "messages", "anthropic", "chat", parse_messages, "/chat/completions")
EMBEDDINGS = Endpoint("/v1/embeddings", "embeddings", "openai", "embeddings", parse_embeddings, "/embeddings")
SPEECH = Endpoint("/v1/audio/speech", "speech", "openai", "tts", parse_speech, "/audio/speech")
TRANSCRIPTIONS = Endpoint("/v1/audio/transcriptions", "transcriptions", "openai", "asr", None,
                          "/audio/transcriptions")
ENDPOINTS: dict[str, Endpoint] = {e.path: e for e in (CHAT, MESSAGES, EMBEDDINGS, SPEECH, TRANSCRIPTIONS)}
CAPABILITY_NAMES = {"chat": "chat", "embeddings": "embeddings", "tts": "text-to-speech",
                    "asr": "transcription"}


def eligible(candidates: tuple[ListingEntry, ...], endpoint: Endpoint) -> tuple[ListingEntry, ...]:
    """The listings (in the given order) that can serve this endpoint."""
    capability = endpoint.capability
    if capability == "chat":
        if all("chat" in c.listing.capabilities for c in candidates):
            return candidates  # the common case: no copy
        return tuple(c for c in candidates if "chat" in c.listing.capabilities)
    return tuple(c for c in candidates
                 if capability in c.listing.capabilities and c.listing.api_format == "openai")
