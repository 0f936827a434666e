"""publisher.SnapshotPublisher: bursts are coalesced, a single change is published, failures retried."""

from __future__ import annotations

import asyncio

from control_plane.snapshot.builder import BuildResult
from control_plane.snapshot.publisher import SnapshotPublisher
from control_plane.snapshot.redis_store import PublishResult
from wire.snapshot import Snapshot


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.builds = 0
        self.fail_first = fail_first

    async def build(self) -> BuildResult:
        self.builds += 1
        if self.builds <= self.fail_first:
            raise ConnectionError("database down")
        return BuildResult(snapshot=Snapshot())

    async def publish(self, snap: Snapshot) -> PublishResult:
        return PublishResult(version=f"v{self.builds}", changed=True, sections_written=1, bytes_written=1)


async def _run(recorder: Recorder, action: object) -> SnapshotPublisher:
    pub = SnapshotPublisher(build=recorder.build, publish=recorder.publish, debounce_s=0.05, max_delay_s=0.25,
                            resync_s=60)
    task = asyncio.create_task(pub.run())  # noqa: TID251
    try:
        await action(pub)  # type: ignore[operator]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return pub


async def _until(cond: object, timeout: float = 5) -> None:
    for _ in range(int(timeout / 0.01)):
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_publishes_at_start_then_coalesces_a_burst() -> None:
    rec = Recorder()

    async def action(pub: SnapshotPublisher) -> None:
        await _until(lambda: rec.builds == 1)
        for _ in range(20):
            pub.mark_changed()
            await asyncio.sleep(0.005)
        await _until(lambda: rec.builds >= 2)
        await asyncio.sleep(0.2)

    pub = await _run(rec, action)
    assert rec.builds == 2 and pub.version == "v2"


async def test_failure_is_retried_and_reported() -> None:
    rec = Recorder(fail_first=2)

    async def action(pub: SnapshotPublisher) -> None:
        await _until(lambda: rec.builds == 1)
        await _until(lambda: bool(pub.last_error))
        await _until(lambda: pub.version == "v3")

    pub = await _run(rec, action)
    assert pub.last_error == ""
