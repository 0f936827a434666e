"""RSS of the proxies: idle, after load, and with N slow streams held open through them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.memory import workers_rss_kib
from bench.stack import Stack
from bench.streams import OpenStreams


@dataclass(frozen=True)
class OpenStreamsRss:
    before_kib: int
    open_kib: int
    after_close_kib: int
    streams: int

    @property
    def per_stream_kib(self) -> float:
        return (self.open_kib - self.before_kib) / self.streams


def hold_streams(stack: Stack, target: str, master_pid: int, count: int, settle_s: float = 3.0) -> OpenStreamsRss:
    async def run() -> OpenStreamsRss:
        before = workers_rss_kib(master_pid)
        streams = OpenStreams()
        try:
            await streams.open(stack.stream_target(target, "fp_idle"), count)
            await asyncio.sleep(settle_s)
            held = workers_rss_kib(master_pid)
        finally:
            await streams.close()
        await asyncio.sleep(settle_s)
        return OpenStreamsRss(before, held, workers_rss_kib(master_pid), count)

    result = asyncio.run(run())
    time.sleep(0.5)
    return result
