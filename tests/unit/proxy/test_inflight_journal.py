"""The in-flight journal: what a killed proxy process admitted and finished is found on disk by
the next process, each request once — its real event when it ended, else a failed (uncharged)
one — and nothing of a live process or of a graceful stop is replayed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from proxy.billing.journal import InflightJournal
from proxy.billing.spool import Spool
from wire.pricing import Asks
from wire.usage import UsageEvent, UsageStatus, charge_of, decode_event, encode_event


def event(request_id: str, status: UsageStatus) -> UsageEvent:
    return UsageEvent(request_id=request_id, account_id="a", key_id="k", listing_id="l", seller_account_id="s",
                      model="m", provider="p", upstream_model="u", status=status, prompt_tokens=10,
                      completion_tokens=20, asks=Asks(ask_input=300_000, ask_output=900_000))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def killed_process(directory: Path, pid: int) -> InflightJournal:
    """A journal written by another process (`pid`), left as a SIGKILL leaves it."""
    journal = InflightJournal(str(directory))
    journal._pid = pid  # noqa: SLF001 - stands for the other process
    journal.start()
    return journal


def replayed(directory: Path) -> dict[str, UsageEvent]:
    records, _ = Spool(str(directory), 1 << 20).drain()
    events = [decode_event(raw) for raw in records]
    assert len(events) == len({e.request_id for e in events}), "a request replayed twice"
    return {e.request_id: e for e in events}


def test_a_killed_process_s_requests_come_back_once(tmp_path: Path) -> None:
    other = killed_process(tmp_path, dead_pid())
    for rid in ("ended", "cut", "failed-early"):
        other.admitted(event(rid, "failed"))
    other.ended("ended", encode_event(event("ended", "completed")))
    other.ended("failed-early", encode_event(event("failed-early", "failed")))
    other.ended("unjournaled-admission", encode_event(event("unjournaled-admission", "partial")))
    with (tmp_path / f"inflight-{other._pid}-1.log").open("ab") as fh:  # noqa: SLF001
        fh.write(b"E\x00\x00\x01\x00torn")  # the kill landed mid-write

    assert InflightJournal(str(tmp_path)).adopt(Spool(str(tmp_path), 1 << 20)) == 4
    got = replayed(tmp_path)
    assert {rid: e.status for rid, e in got.items()} == {
        "ended": "completed", "cut": "failed", "failed-early": "failed", "unjournaled-admission": "partial"}
    assert charge_of(got["cut"]).cost == 0  # a request cut by the kill is not charged
    assert not list(tmp_path.glob("inflight-*"))  # adopted once: the next start finds nothing


def test_a_live_process_s_journal_is_left_alone(tmp_path: Path) -> None:
    live = killed_process(tmp_path, os.getppid())
    live.admitted(event("running", "failed"))
    assert InflightJournal(str(tmp_path)).adopt(Spool(str(tmp_path), 1 << 20)) == 0
    assert list(tmp_path.glob(f"inflight-{os.getppid()}-*"))


def test_graceful_stop_keeps_only_open_admissions(tmp_path: Path) -> None:
    pid = dead_pid()
    done = killed_process(tmp_path, pid)
    done.admitted(event("r1", "failed"))
    done.ended("r1", encode_event(event("r1", "completed")))
    done.close()
    assert not list(tmp_path.glob("inflight-*"))  # everything went to Redis or the spool already

    stuck = killed_process(tmp_path, pid)
    stuck.admitted(event("r2", "failed"))
    stuck.admitted(event("r3", "failed"))
    stuck.ended("r3", encode_event(event("r3", "completed")))
    stuck.close()
    InflightJournal(str(tmp_path)).adopt(Spool(str(tmp_path), 1 << 20))
    assert {rid: e.status for rid, e in replayed(tmp_path).items()} == {"r2": "failed"}
