"""A Redis key prefix per test session, and reading back what the control plane published."""

from __future__ import annotations

import os
import secrets

import coredis
import msgspec

from dragonfly.services import DEFAULT_REDIS_URL, ensure_redis
from wire.codec import content_version, decode_snapshot
from wire.publish import Manifest, join, manifest_key, section_key
from wire.snapshot import Snapshot


def server_url() -> str:
    wanted = os.environ.get("DF_TEST_REDIS_URL") or os.environ.get("DF_REDIS_URL") or DEFAULT_REDIS_URL
    return ensure_redis(wanted)


def connect(url: str) -> coredis.Redis[bytes]:
    """A client to use as `async with connect(url) as r:` (within one task)."""
    return coredis.Redis.from_url(url, stream_timeout=5, connect_timeout=5)


def new_prefix() -> str:
    return f"dftest-{secrets.token_hex(5)}:"


async def delete_prefix(redis: coredis.Redis[bytes], prefix: str) -> int:
    doomed = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
    for i in range(0, len(doomed), 500):
        await redis.delete(doomed[i : i + 500])
    return len(doomed)


async def read_manifest(redis: coredis.Redis[bytes], prefix: str) -> Manifest | None:
    raw = await redis.get(manifest_key(prefix))
    return None if raw is None else msgspec.msgpack.decode(raw, type=Manifest)


async def read_snapshot(redis: coredis.Redis[bytes], prefix: str) -> Snapshot | None:
    """The published snapshot, assembled as a proxy would (checking each section's version)."""
    manifest = await read_manifest(redis, prefix)
    if manifest is None:
        return None
    sections: dict[str, Snapshot] = {}
    for name, version in manifest.sections.items():
        body = await redis.get(section_key(prefix, name, version))
        assert body is not None, f"section {name}:{version} named by the manifest is missing"
        assert content_version(body) == version, f"section {name} content does not match its version"
        sections[name] = decode_snapshot(body)
    return join(sections, manifest.version, manifest.created_at)
