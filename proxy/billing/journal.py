"""The in-flight journal: what a proxy process admitted and finished, on disk before it matters,
so a worker killed (SIGKILL, OOM) mid-request loses no usage.

Per process, append-only segment files `{spool dir}/inflight-{pid}-{n}.log`; a record is one
kind byte, a 4-byte big-endian length and an encoded usage event:

- `A` (admitted), written when a request's reservation succeeds, before any upstream call:
  the event it settles as if the process dies before it finishes — `failed`, no tokens,
  nothing charged (the buyer pays nothing for an answer we cut; the seller is not paid);
- `E` (ended), written by `UsageShipper.submit`: the request's real event.

Writes are plain `write(2)` calls without fsync: they survive the process being killed (the
kernel holds them), not the machine losing power. A segment is replaced once it passes
`_ROTATE_BYTES` by one holding only the admissions still open (the events already handed
to Redis or the spool need no journal; the segment before is kept one more round, so a
Redis that lost unsettled events can be sent them again: `ended_records`). On start-up
`adopt` reads the segments of processes that are gone (and any older one under this pid),
keeps per request id its `E` record, else its `A` record, appends them to the spool and
deletes the segments: the spool replays them and settlement is idempotent by request id, so
an event shipped before the kill counts once.

Bound that remains: a machine crash loses what the page cache held (the unshipped events of
the last flush interval and the admissions in flight, as before this journal). Disk errors
are logged and the journal stops (requests are still served; the old bound applies).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from proxy.billing.spool import Spool, SpoolFull, alive
from wire.usage import UsageEvent, decode_event, encode_event

if TYPE_CHECKING:
    from proxy.billing.gate import Admission

log = logging.getLogger("dragonfly.proxy.billing")
ADMITTED, ENDED = b"A", b"E"
_ROTATE_BYTES = 4 * 1024 * 1024


def placeholder(adm: Admission) -> UsageEvent:
    """The event an admitted request settles as when its process dies before it ends."""
    lst = adm.listing
    return UsageEvent(
        request_id=adm.request_id, account_id=adm.key.account_id, key_id=adm.key.id, listing_id=lst.id,
        seller_account_id=lst.seller_account_id, model=lst.model, provider=lst.provider,
        upstream_model=lst.upstream_model, status="failed", asks=adm.asks, fee_profile_id=lst.fee_profile_id,
        reserved_micro_usd=adm.reserved, month=adm.month, started_at_ms=adm.started_ms, offline=adm.offline,
    )


def _record(kind: bytes, raw: bytes) -> bytes:
    return kind + len(raw).to_bytes(4, "big") + raw


class InflightJournal:
    def __init__(self, directory: str) -> None:
        self._dir = Path(directory)
        self._pid = os.getpid()
        self._seq = 0
        self._fd: int | None = None
        self._size = 0
        self._open: dict[str, bytes] = {}  # request id -> its A record, until it ends

    def _segment(self, seq: int) -> Path:
        return self._dir / f"inflight-{self._pid}-{seq}.log"

    def start(self) -> None:
        """Open this process's first segment (after `adopt`)."""
        self._roll()

    def _roll(self, keep_previous: bool = True) -> None:
        """A new segment holding the open admissions. The segment before is kept (its ended events
        may be shipped again after a Redis data loss, `ended_records`); older ones are deleted."""
        had = self._fd is not None
        self._seq += 1
        data = b"".join(self._open.values())
        try:
            fd = os.open(self._segment(self._seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
            os.write(fd, data)
        except OSError as exc:
            log.error("in-flight journal off (%s): a killed worker loses its requests in flight", exc)
            self._fd = None
            return
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._size = fd, len(data)
        if had:
            self._segment(self._seq - 2).unlink(missing_ok=True)
            if not keep_previous:
                self._segment(self._seq - 1).unlink(missing_ok=True)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, data)
        except OSError as exc:
            log.error("in-flight journal off (%s): a killed worker loses its requests in flight", exc)
            os.close(self._fd)
            self._fd = None
            return
        self._size += len(data)

    def admitted(self, event: UsageEvent) -> None:
        record = _record(ADMITTED, encode_event(event))
        self._open[event.request_id] = record
        self._write(record)

    def ended(self, request_id: str, raw: bytes) -> None:
        self._open.pop(request_id, None)
        self._write(_record(ENDED, raw))

    def delivered(self) -> None:
        """Every ended event so far is in Redis or the spool: a large segment may be replaced."""
        if self._size > _ROTATE_BYTES and self._fd is not None:
            self._roll()

    def close(self) -> None:
        """Graceful stop, after the last events went to Redis or the spool: keep only open admissions."""
        if self._fd is None:
            return
        if self._open:
            self._roll(keep_previous=False)
        else:
            self._segment(self._seq).unlink(missing_ok=True)
            self._segment(self._seq - 1).unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def ended_records(self) -> list[bytes]:
        """The ended events of this process's last two segments (for re-shipping after Redis lost them)."""
        out: list[bytes] = []
        for seq in (self._seq - 1, self._seq):
            try:
                data = self._segment(seq).read_bytes()
            except OSError:
                continue
            out += [raw for kind, raw in _records(data) if kind == ENDED]
        return out

    def adopt(self, spool: Spool) -> int:
        """Move the journals of gone processes (and older ones under this pid) into `spool`."""
        files: list[tuple[int, int, Path]] = []
        for path in self._dir.glob("inflight-*.log"):
            parts = path.stem.removeprefix("inflight-").split("-")
            if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()):
                continue
            pid = int(parts[0])
            if pid == self._pid or not alive(pid):
                files.append((pid, int(parts[1]), path))
        latest: dict[str, tuple[bytes, bytes]] = {}
        for _, _, path in sorted(files):
            for kind, raw in _records(path.read_bytes()):
                try:
                    request_id = decode_event(raw).request_id
                except msgspec.MsgspecError:
                    continue  # a torn record: nothing to settle
                if kind == ENDED or latest.get(request_id, (ADMITTED, b""))[0] == ADMITTED:
                    latest[request_id] = (kind, raw)
        if latest:
            try:
                spool.append([raw for _, raw in latest.values()])
            except (SpoolFull, OSError) as exc:
                log.error("in-flight journals of stopped processes kept for the next start: %s", exc)
                return 0
            lost = sum(1 for kind, _ in latest.values() if kind == ADMITTED)
            log.warning("adopted %d usage events of %d stopped process(es); %d request(s) were cut by the stop "
                        "and settle as failed, uncharged", len(latest), len({p for p, _, _ in files}), lost)
        for _, _, path in files:
            path.unlink(missing_ok=True)
        return len(latest)


def _records(data: bytes) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    at = 0
    while at + 5 <= len(data):
        kind, n = data[at:at + 1], int.from_bytes(data[at + 1:at + 5], "big")
        if kind not in (ADMITTED, ENDED) or at + 5 + n > len(data):
            break  # a torn tail record
        out.append((kind, data[at + 5:at + 5 + n]))
        at += 5 + n
    return out
