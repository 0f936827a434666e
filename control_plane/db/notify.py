"""LISTEN for `df_snapshot_changed` (sent by triggers at commit) on a dedicated connection.

Failure mode: if the connection drops, it reconnects with backoff and reports a change
on reconnect (anything may have happened meanwhile), so no change is lost for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from control_plane.db.pool import connect

CHANNEL = "df_snapshot_changed"
log = logging.getLogger("control_plane.notify")


async def listen_for_changes(
    url: str, on_change: Callable[[], None], *, connect_timeout_s: float, command_timeout_s: float
) -> None:
    """Run until cancelled; call `on_change` for every notice and after every (re)connect."""
    backoff = 0.2
    while True:
        try:
            conn = await connect(url, connect_timeout_s=connect_timeout_s, command_timeout_s=command_timeout_s)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("snapshot listener cannot connect (%s); retrying in %.1fs", type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, lambda *_args: on_change())
            backoff = 0.2
            on_change()
            await lost.wait()
            log.warning("snapshot listener lost its connection; reconnecting")
        finally:
            if not conn.is_closed():
                await conn.close(timeout=command_timeout_s)
