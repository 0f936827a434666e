"""Outgoing mail: handlers write to the `mail_outbox` table inside their transaction; a
sender delivers. `ConsoleMailSender` (dev and tests) prints each mail to the log and
stamps it sent; an SMTP sender can replace it without touching the handlers.

Failure mode: a failed delivery leaves the row unsent; the next wake (or the periodic
poll) tries again.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger("control_plane.mail")
_POLL_S = 5.0


class ConsoleMailSender:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver_pending(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, to_address, subject, body FROM mail_outbox WHERE sent_at IS NULL"
                " ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED"
            )
            for row in rows:
                log.info("mail to %s: %s\n%s", row["to_address"], row["subject"], row["body"])
            if rows:
                await conn.execute(
                    "UPDATE mail_outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
                )
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=_POLL_S)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.deliver_pending()
            except Exception as exc:  # background-task boundary
                log.error("mail delivery failed: %s", type(exc).__name__)
