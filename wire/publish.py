"""How a snapshot travels through Redis, in sections, so one change resends little.

A published snapshot is a *manifest* plus *sections*:

- section "catalog": a `Snapshot` holding models, listings, accounts and plans (no keys);
- sections "keys/00" … "keys/ff": a `Snapshot` holding only the keys whose hash starts
  with that byte (256 shards; at 1M keys one shard is ~4k keys, ~0.5 MiB).

Each section is stored once under its own content version
(`{prefix}snap:section:{name}:{section_version}`, msgpack bytes, with a TTL of
`SECTION_TTL_S` so superseded ones expire). The manifest (`{prefix}snap:manifest`,
msgpack `Manifest`) names the version of every section and the overall version
(content hash of the sorted section versions). After writing the sections and then
the manifest, the publisher sends the overall version on channel
`{prefix}snap:notify`. A proxy fetches the manifest, then only the sections whose
versions changed, assembles a `Snapshot`, checks it, and swaps it in. Proxies also
poll the manifest every few seconds, so a lost notice heals.

`prefix` lets several deployments (and parallel test runs) share one Redis; on Redis Cluster it is
the hash tag of every key (`wire.redis_target`).
"""

from __future__ import annotations

import hashlib

import msgspec

from wire.snapshot import Snapshot

KEY_SHARDS = 256
SECTION_TTL_S = 3600
CATALOG = "catalog"


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    created_at: int
    sections: dict[str, str]  # section name -> section content version


def manifest_key(prefix: str) -> str:
    return f"{prefix}snap:manifest"


def section_key(prefix: str, name: str, version: str) -> str:
    return f"{prefix}snap:section:{name}:{version}"


def notify_channel(prefix: str) -> str:
    return f"{prefix}snap:notify"


def shard_of(key_hash: str) -> str:
    """The keys section a key hash (hex) belongs to."""
    return f"keys/{key_hash[:2]}"


def section_names() -> list[str]:
    return [CATALOG] + [f"keys/{i:02x}" for i in range(KEY_SHARDS)]


def split(snap: Snapshot) -> dict[str, Snapshot]:
    """Cut a whole snapshot into its sections (every section present, maybe empty)."""
    shards: dict[str, list[object]] = {name: [] for name in section_names()[1:]}
    for key in snap.keys:
        shards[shard_of(key.hash)].append(key)
    out: dict[str, Snapshot] = {
        CATALOG: msgspec.structs.replace(snap, keys=(), version="")
    }
    for name, keys in shards.items():
        out[name] = Snapshot(keys=tuple(keys))  # type: ignore[arg-type]
    return out


def join(sections: dict[str, Snapshot], version: str, created_at: int) -> Snapshot:
    """Reassemble the whole snapshot from its sections."""
    catalog = sections[CATALOG]
    keys = tuple(k for name, part in sorted(sections.items()) if name != CATALOG for k in part.keys)
    return msgspec.structs.replace(catalog, keys=keys, version=version, created_at=created_at)


def overall_version(section_versions: dict[str, str]) -> str:
    joined = "\n".join(f"{k}={v}" for k, v in sorted(section_versions.items()))
    return hashlib.blake2b(joined.encode(), digest_size=12).hexdigest()
