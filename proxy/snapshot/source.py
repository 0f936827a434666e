"""Where snapshots come from. One interface, two sources: a file (dev, tests) and Redis.

Failure policy (both sources): keep serving the last good snapshot; a snapshot that
fails to decode or is inconsistent is refused (logged once per version) and the
old one stays; the store records since when the source has been unreachable, which
/readyz and the metrics report. A proxy never serves without a first snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Protocol

import msgspec

from proxy.snapshot.index import build_index
from proxy.snapshot.store import SnapshotStore
from proxy.snapshot.unseal import Unsealer
from wire.codec import content_version, decode_snapshot
from wire.snapshot import SnapshotInconsistent

log = logging.getLogger("dragonfly.proxy.snapshot")


class SnapshotSource(Protocol):
    async def load_initial(self) -> None: ...
    async def run(self) -> None: ...


def apply_bytes(store: SnapshotStore, body: bytes, origin: str, unsealer: Unsealer | None = None) -> bool:
    """Decode, check and swap in a snapshot; keep the old one on any problem."""
    try:
        snap = decode_snapshot(body)
        if not snap.version:
            snap = msgspec.structs.replace(snap, version=content_version(body))
        snap, dropped = (unsealer or Unsealer(())).open_catalog(snap)
        if dropped:
            log.error("snapshot from %s: %d listing(s) not routed, their sealed upstream key does not open with "
                      "DF_SEAL_KEYS", origin, len(dropped))
        index = build_index(snap)
    except (msgspec.MsgspecError, SnapshotInconsistent) as exc:
        current = store.current()
        log.error("snapshot from %s refused, keeping version %s: %s", origin,
                  current.version if current else None, exc)
        return False
    store.swap(index)
    log.info("snapshot %s applied from %s (%s)", index.version, origin, index.counts)
    return True


class FileSnapshotSource:
    """Reads a snapshot file (JSON or msgpack) and reloads it when it changes on disk."""

    def __init__(self, path: str, store: SnapshotStore, poll_s: float, unsealer: Unsealer | None = None) -> None:
        self._unsealer = unsealer
        self._path = Path(path)
        self._store = store
        self._poll_s = poll_s
        self._seen: tuple[int, int] | None = None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        stamp = self._stamp()
        if stamp is None:
            self._store.mark_source(False)
            return
        self._store.mark_source(True)
        if stamp == self._seen:
            return
        self._seen = stamp
        apply_bytes(self._store, self._path.read_bytes(), str(self._path), self._unsealer)

    async def load_initial(self) -> None:
        self._load()
        if self._store.current() is None:
            raise SystemExit(f"snapshot file {self._path} is missing or invalid; see the log above")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            self._load()
