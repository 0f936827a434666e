"""Encoders and decoders for wire types: one per type, built once at import."""

from __future__ import annotations

import hashlib

import msgspec

from wire.snapshot import Snapshot

_snapshot_encoder = msgspec.msgpack.Encoder()
_snapshot_decoder = msgspec.msgpack.Decoder(Snapshot)
_snapshot_json_decoder = msgspec.json.Decoder(Snapshot)
_json_encoder = msgspec.json.Encoder()


def content_version(body: bytes) -> str:
    """An opaque version derived from content: same bytes, same version."""
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def encode_snapshot(snap: Snapshot) -> bytes:
    """MessagePack bytes of a snapshot (the form stored and shipped)."""
    return _snapshot_encoder.encode(snap)


def decode_snapshot(body: bytes) -> Snapshot:
    """Decode a snapshot from MessagePack, or JSON when it starts with `{`."""
    if body[:1] == b"{":
        return _snapshot_json_decoder.decode(body)
    return _snapshot_decoder.decode(body)


def encode_snapshot_json(snap: Snapshot) -> bytes:
    """Human-readable JSON form (files written by hand or by `make up`)."""
    return msgspec.json.format(_json_encoder.encode(snap), indent=2)
