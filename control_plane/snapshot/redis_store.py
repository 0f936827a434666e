"""The Redis edge of snapshot publishing, exactly as `wire/publish.py` describes.

publish(snapshot): split into sections; encode each (msgpack) and version it by content;
compare with the manifest currently in Redis; write only the sections whose version
changed; then the manifest; then PUBLISH the overall version on the notify channel.
Current sections are stored without expiry; a section superseded by a newer version
gets `SECTION_TTL_S` so proxies still fetching the previous manifest can finish.
Same content gives the same versions, so several control-plane workers publishing the
same database converge on identical keys (the last manifest written wins, and is equal).

Failure mode: a Redis error propagates to the publisher loop, which keeps the change
pending and retries; proxies keep serving their last snapshot meanwhile.
"""

from __future__ import annotations

import time

import coredis
import msgspec

from wire.codec import content_version, encode_snapshot
from wire.publish import Manifest, manifest_key, notify_channel, overall_version, section_key, split
from wire.snapshot import Snapshot

_manifest_decoder = msgspec.msgpack.Decoder(Manifest)
_manifest_encoder = msgspec.msgpack.Encoder()
SECTION_TTL_S = 3600


class PublishResult(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    changed: bool
    sections_written: int
    bytes_written: int


def encode_sections(snap: Snapshot) -> dict[str, tuple[str, bytes]]:
    """Section name -> (content version, msgpack bytes). Pure; `created_at` is not content."""
    base = msgspec.structs.replace(snap, version="", created_at=0)
    out: dict[str, tuple[str, bytes]] = {}
    for name, part in split(base).items():
        body = encode_snapshot(part)
        out[name] = (content_version(body), body)
    return out


class RedisSnapshotStore:
    """Writes snapshots under one prefix of one Redis."""

    __slots__ = ("_redis", "_prefix")

    def __init__(self, redis: coredis.Redis[bytes], prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def current_manifest(self) -> Manifest | None:
        raw = await self._redis.get(manifest_key(self._prefix))
        if raw is None:
            return None
        try:
            return _manifest_decoder.decode(raw)
        except msgspec.DecodeError:
            return None

    async def publish(self, snap: Snapshot, *, now: int | None = None) -> PublishResult:
        sections = encode_sections(snap)
        versions = {name: ver for name, (ver, _) in sections.items()}
        version = overall_version(versions)
        old = await self.current_manifest()
        if old is not None and old.version == version:
            return PublishResult(version=version, changed=False, sections_written=0, bytes_written=0)
        old_sections = old.sections if old is not None else {}
        written = 0
        size = 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, (ver, body) in sections.items():
                if old_sections.get(name) == ver:
                    continue
                pipe.set(section_key(self._prefix, name, ver), body)
                pipe.persist(section_key(self._prefix, name, ver))
                written += 1
                size += len(body)
                previous = old_sections.get(name)
                if previous is not None:
                    pipe.expire(section_key(self._prefix, name, previous), SECTION_TTL_S)
        manifest = Manifest(version=version, created_at=int(time.time()) if now is None else now, sections=versions)
        body = _manifest_encoder.encode(manifest)
        await self._redis.set(manifest_key(self._prefix), body)
        await self._redis.publish(notify_channel(self._prefix), version)
        return PublishResult(version=version, changed=True, sections_written=written, bytes_written=size + len(body))
