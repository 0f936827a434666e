"""Assemble a RoutingIndex from published sections, re-decoding only what changed (pure).

Keeps the decoded sections of the version in force. Given a new manifest and the bytes
of the sections whose versions changed, it builds the next index: the catalog part is
rebuilt when the catalog changed; the key map is copied and only the changed shards
are replaced, so one key change at 1M keys costs one shard, not a million keys.
Nothing is committed unless the whole new version checks out. Sealed upstream keys are
opened when the catalog section is decoded (`proxy.snapshot.unseal`), once per listing per
catalog version; `dropped` names the listings whose key this proxy could not open.
"""

from __future__ import annotations

import msgspec

from proxy.snapshot.index import KeyEntry, RoutingIndex, build_index, key_entries
from proxy.snapshot.unseal import Unsealer
from wire.codec import decode_snapshot
from wire.publish import CATALOG, Manifest, shard_of
from wire.snapshot import Snapshot, SnapshotInconsistent


class SectionAssembler:
    def __init__(self, unsealer: Unsealer | None = None) -> None:
        self._unsealer = unsealer or Unsealer(())
        self.dropped: tuple[str, ...] = ()  # listings of the catalog in force whose sealed key did not open
        self.versions: dict[str, str] = {}
        self._sections: dict[str, Snapshot] = {}
        self._keys: dict[str, KeyEntry] = {}

    def wanted(self, manifest: Manifest) -> dict[str, str]:
        """The sections (name -> version) that must be fetched for this manifest."""
        return {name: ver for name, ver in manifest.sections.items() if self.versions.get(name) != ver}

    def apply(self, manifest: Manifest, fetched: dict[str, bytes]) -> RoutingIndex:
        """Build the index of `manifest` from held sections plus `fetched` ones; commit on success."""
        decoded = {name: decode_snapshot(body) for name, body in fetched.items()}
        missing = [n for n in self.wanted(manifest) if n not in decoded]
        if missing:
            raise SnapshotInconsistent(f"sections missing from Redis: {', '.join(missing[:5])}")
        dropped = self.dropped
        if CATALOG in decoded:
            decoded[CATALOG], dropped = self._unsealer.open_catalog(decoded[CATALOG])
        catalog = decoded.get(CATALOG) or self._sections.get(CATALOG)
        if catalog is None:
            raise SnapshotInconsistent("the catalog section is missing")
        accounts = {a.id for a in catalog.accounts}
        keys = dict(self._keys)
        removed = [n for n in self._sections if n != CATALOG and n not in manifest.sections]
        for name in [*decoded, *removed]:
            if name == CATALOG:
                continue
            for old in self._sections.get(name, Snapshot()).keys:
                keys.pop(old.hash, None)
            part = decoded.get(name, Snapshot())
            for key in part.keys:
                if shard_of(key.hash) != name:
                    raise SnapshotInconsistent(f"key {key.id} is in section {name}, not {shard_of(key.hash)}")
                if key.account_id not in accounts:
                    raise SnapshotInconsistent(f"key {key.id} belongs to unknown account {key.account_id}")
            keys.update(key_entries(part.keys))
        if CATALOG in decoded:
            ghosts = [e.key.id for e in keys.values() if e.key.account_id not in accounts]
            if ghosts:
                raise SnapshotInconsistent(f"keys of unknown accounts: {', '.join(ghosts[:5])}")
        whole = msgspec.structs.replace(catalog, keys=(), version=manifest.version, created_at=manifest.created_at)
        index = build_index(whole, keys=keys)
        index.counts["keys"] = len(keys)
        # commit
        self._sections.update(decoded)
        for name in removed:
            self._sections.pop(name, None)
        self.versions = dict(manifest.sections)
        self._keys = keys
        self.dropped = dropped
        return index
