"""Run probes and apply their outcome to the listing, its schedule and its contract.

- A listing that was never admitted is admitted by its first passing probe: `admitted_at` is
  set and its contract is created with the terms it promised (model, upstream model, asks,
  caps) and the probe's measured baseline (TTFT, tokens/s). Until then it is not routed
  (snapshot builder) and its view says `pending_admission` with the last failure's reason.
- After admission every check feeds the contract (`rules.after_check`); a suspension also
  disables the pool key (`pool_keys.status = disabled`), which takes the listing out of the
  next snapshot (published on commit, NOTIFY).
- Upstream 401/403 answers reported by proxies (`wire.stats.new_auth_failures`) count as one
  failed check per batch and trigger a re-verification probe at once.
Probes bill no one: they never touch the ledger, credit or usage tables.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import msgspec
import orjson

from control_plane.admission.probe_client import ProbeClient
from control_plane.admission.rules import State, after_check, next_probe_in
from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.db import admission as db
from control_plane.settings import Settings
from wire.money import micros_to_usd
from wire.probe import ProbeCheck, ProbeResult
from wire.snapshot import Listing

log = logging.getLogger("control_plane.admission")


def checks_json(checks: tuple[ProbeCheck, ...]) -> str:
    return msgspec.json.encode(checks).decode()


def _terms(t: asyncpg.Record, result: ProbeResult) -> str:
    usd = micros_to_usd
    return orjson.dumps({
        "model": t["model"], "upstream_model": t["upstream_model"], "provider": t["provider"],
        "ask_input": usd(t["ask_input"]), "ask_output": usd(t["ask_output"]),
        "ask_cached_input": None if t["ask_cached_input"] is None else usd(t["ask_cached_input"]),
        "rpm_limit": t["rpm_limit"], "concurrency_limit": t["concurrency_limit"],
        "baseline": {"ttft_ms": result.ttft_ms, "tokens_per_s": result.tokens_per_s},
    }).decode()


def _failing(checks: tuple[ProbeCheck, ...]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)


class Admission:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox, client: ProbeClient, settings: Settings) -> None:
        self._pool = pool
        self._box = box
        self._client = client
        self._s = settings
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def kick(self, listing_id: str, trigger: str) -> None:
        """Probe in the background now, unless a background probe of the listing is under way."""
        if listing_id in self._inflight:
            return
        self._inflight.add(listing_id)
        task = asyncio.create_task(self._background(listing_id, trigger))  # noqa: TID251
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _background(self, listing_id: str, trigger: str) -> None:
        try:
            await self.probe(listing_id, trigger)
        except Exception:
            log.exception("probe of listing %s failed to run", listing_id)
        finally:
            self._inflight.discard(listing_id)

    async def probe(self, listing_id: str, trigger: str) -> asyncpg.Record | None:
        """Run one probe now; the finished run, or None if the listing is gone."""
        run_id = str(uuid.uuid4())
        async with self._pool.acquire() as conn:
            t = await db.target(conn, listing_id)
            if t is None:
                return None
            contract = await db.current_contract(conn, listing_id) if t["admitted_at"] is not None else None
            await db.start_run(conn, run_id, listing_id, contract["id"] if contract else None, trigger)
        result = await self._run(run_id, t)
        passed = all(c.passed for c in result.checks)
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval("SELECT 1 FROM listings WHERE id = $1 FOR UPDATE", listing_id) is None:
                return None  # deleted while its probe ran
            new_contract = await self._apply(conn, t, result, passed)
            return await db.finish_run(conn, run_id, "passed" if passed else "failed", checks_json(result.checks),
                                       result.ttft_ms, result.tokens_per_s, new_contract)

    async def _run(self, run_id: str, t: asyncpg.Record) -> ProbeResult:
        try:
            key = self._box.open(bytes(t["key_ciphertext"]), seller_id=t["account_id"], key_id=t["pool_key_id"])
        except SecretBoxError:
            return ProbeResult(run_id=run_id, checks=(ProbeCheck(
                name="auth", passed=False, detail="the pool key's upstream key does not decrypt; re-enter it"),))
        listing = Listing(
            id=t["id"], seller_account_id=t["account_id"], provider=t["provider"], model=t["model"],
            upstream_model=t["upstream_model"], base_url=t["base_url"].rstrip("/"),
            api_format="anthropic" if t["api_format"] == "anthropic" else "openai", upstream_key=key,
            ask_input=t["ask_input"], ask_output=t["ask_output"], capabilities=tuple(t["capabilities"]))
        try:
            expect = orjson.loads(t["probe_expect"] or "{}")
        except orjson.JSONDecodeError:
            expect = {}
        return await self._client.run(run_id, listing, t["owned_by"], expect if isinstance(expect, dict) else {})

    async def _apply(self, conn: asyncpg.Connection, t: asyncpg.Record, result: ProbeResult,
                     passed: bool) -> str | None:
        """Admission, schedule and contract after a probe; the id of a contract it created."""
        s, lid = self._s, t["id"]
        failures = 0 if passed else await db.failures(conn, lid) + 1
        delay = next_probe_in(passed, failures, s.probe_interval_s, s.probe_retry_s, s.probe_retry_max_s)
        await db.schedule(conn, lid, delay, failures)
        if t["admitted_at"] is None:
            if not passed:
                await db.set_admission_reason(conn, lid, "admission probe failed: " + _failing(result.checks))
                return None
            contract_id = str(uuid.uuid4())
            await db.admit(conn, lid, contract_id, _terms(t, result))
            return contract_id
        contract = await db.current_contract(conn, lid)
        if contract is not None:
            await self._strike(conn, lid, contract["id"], passed, _failing(result.checks))
        return None

    async def _strike(self, conn: asyncpg.Connection, listing_id: str, contract_id: str, passed: bool,
                      why: str) -> State | None:
        contract = await db.lock_contract(conn, contract_id)
        if contract is None:
            return None
        state, strikes = after_check(contract["state"], contract["strikes"], passed, self._s.contract_suspend_after)
        reason = contract["state_reason"] if passed and state == "suspended" else ("" if passed else why)
        await db.set_contract(conn, contract_id, state, strikes, reason)
        if state == "suspended" and contract["state"] != "suspended":
            await db.set_pool_key_status(conn, listing_id, "disabled")
            log.warning("contract %s of listing %s suspended after %d failed checks: %s", contract_id, listing_id,
                        strikes, why)
        return state

    async def auth_failures(self, listing_id: str, count: int) -> None:
        """Proxies reported `count` new upstream 401/403 answers for the listing."""
        async with self._pool.acquire() as conn, conn.transaction():
            contract = await db.current_contract(conn, listing_id)
            if contract is None or contract["state"] == "suspended":
                return
            check = ProbeCheck(name="auth", passed=False,
                               detail=f"proxies reported {count} upstream 401/403 answer(s) to buyer traffic")
            await db.record_run(conn, str(uuid.uuid4()), listing_id, contract["id"], "proxy_reports",
                                checks_json((check,)))
            state = await self._strike(conn, listing_id, contract["id"], False, check.detail)
        if state != "suspended":
            self.kick(listing_id, "reverify")

    async def unsuspend(self, conn: asyncpg.Connection, contract: asyncpg.Record) -> bool:
        """A suspended contract back to active if its latest check passed (else False)."""
        runs = await db.runs_of_contract(conn, contract["id"], 1)
        if not runs or runs[0]["outcome"] != "passed":
            return False
        await db.set_contract(conn, contract["id"], "active", 0, "")
        await db.set_pool_key_status(conn, contract["listing_id"], "active")
        await db.schedule(conn, contract["listing_id"], next_probe_in(True, 0, self._s.probe_interval_s, 0, 0), 0)
        return True

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
