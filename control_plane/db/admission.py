"""SQL for admission probes, their schedule and contracts (README "Admission", "Contracts").

jsonb columns travel as text (`::jsonb` in, `::text` out); callers encode and decode them.
Seller-facing reads always filter by the owner in the query.
"""

from __future__ import annotations

import asyncpg

TARGET = """
SELECT l.id::text AS id, l.account_id::text AS account_id, l.pool_key_id::text AS pool_key_id, k.provider,
       l.model, l.upstream_model, k.base_url, k.api_format, k.key_ciphertext, l.ask_input, l.ask_output,
       l.ask_cached_input, l.rpm_limit, l.concurrency_limit, l.capabilities, l.fee_profile_id,
       l.admitted_at, l.status, m.owned_by, m.probe_expect::text AS probe_expect
FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id JOIN models m ON m.id = l.model
WHERE l.id = $1
"""
RUN_COLUMNS = """id::text AS id, listing_id::text AS listing_id, contract_id::text AS contract_id, trigger,
                 started_at, finished_at, outcome, checks::text AS checks, ttft_ms, tokens_per_s"""
CONTRACT_COLUMNS = """c.id::text AS id, c.listing_id::text AS listing_id, c.state, c.terms::text AS terms,
                      c.strikes, c.state_reason, c.created_at, c.updated_at"""


async def target(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(TARGET, listing_id)


async def schedule(conn: asyncpg.Connection, listing_id: str, delay_s: float, failures: int | None = None) -> None:
    """Probe the listing in `delay_s` seconds; `failures` resets or sets the back-off count."""
    await conn.execute(
        """INSERT INTO probe_schedule (listing_id, next_probe_at, failures)
           VALUES ($1, now() + make_interval(secs => $2), coalesce($3, 0))
           ON CONFLICT (listing_id) DO UPDATE SET next_probe_at = EXCLUDED.next_probe_at,
               failures = coalesce($3, probe_schedule.failures)""",
        listing_id, delay_s, failures)


async def failures(conn: asyncpg.Connection, listing_id: str) -> int:
    return int(await conn.fetchval("SELECT failures FROM probe_schedule WHERE listing_id = $1", listing_id) or 0)


async def claim_due(conn: asyncpg.Connection, limit: int, lease_s: float) -> list[str]:
    """Listings due for a scheduled probe (active, not suspended), pushed `lease_s` ahead so that
    another control plane does not take them too."""
    rows = await conn.fetch(
        """UPDATE probe_schedule s SET next_probe_at = now() + make_interval(secs => $2)
           WHERE s.listing_id IN (
               SELECT s2.listing_id FROM probe_schedule s2 JOIN listings l ON l.id = s2.listing_id
               WHERE s2.next_probe_at <= now() AND l.status = 'active'
                 AND coalesce((SELECT c.state FROM contracts c WHERE c.listing_id = l.id
                               ORDER BY c.created_at DESC LIMIT 1), 'active') <> 'suspended'
               ORDER BY s2.next_probe_at LIMIT $1 FOR UPDATE OF s2 SKIP LOCKED)
           RETURNING s.listing_id::text""",
        limit, lease_s)
    return [r[0] for r in rows]


async def start_run(conn: asyncpg.Connection, run_id: str, listing_id: str, contract_id: str | None,
                    trigger: str) -> None:
    await conn.execute("INSERT INTO probe_runs (id, listing_id, contract_id, trigger) VALUES ($1, $2, $3, $4)",
                       run_id, listing_id, contract_id, trigger)


async def finish_run(conn: asyncpg.Connection, run_id: str, outcome: str, checks_json: str,
                     ttft_ms: float | None, tokens_per_s: float | None,
                     contract_id: str | None = None) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""UPDATE probe_runs SET finished_at = now(), outcome = $2, checks = $3::jsonb, ttft_ms = $4,
                tokens_per_s = $5, contract_id = coalesce($6, contract_id)
            WHERE id = $1 RETURNING {RUN_COLUMNS}""",
        run_id, outcome, checks_json, ttft_ms, tokens_per_s, contract_id)
    assert row is not None
    return row


async def record_run(conn: asyncpg.Connection, run_id: str, listing_id: str, contract_id: str | None,
                     trigger: str, checks_json: str) -> None:
    """A finished failed run at once (proxy reports of upstream 401/403)."""
    await conn.execute(
        """INSERT INTO probe_runs (id, listing_id, contract_id, trigger, finished_at, outcome, checks)
           VALUES ($1, $2, $3, $4, now(), 'failed', $5::jsonb)""",
        run_id, listing_id, contract_id, trigger, checks_json)


async def runs_of_listing(conn: asyncpg.Connection, account_id: str, listing_id: str,
                          limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"""SELECT {RUN_COLUMNS} FROM probe_runs r WHERE r.listing_id = $1
              AND EXISTS (SELECT 1 FROM listings l WHERE l.id = r.listing_id AND l.account_id = $2)
            ORDER BY r.started_at DESC, r.id LIMIT $3""", listing_id, account_id, limit))


async def runs_of_contract(conn: asyncpg.Connection, contract_id: str, limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {RUN_COLUMNS} FROM probe_runs WHERE contract_id = $1 ORDER BY started_at DESC, id LIMIT $2",
        contract_id, limit))


async def admit(conn: asyncpg.Connection, listing_id: str, contract_id: str, terms_json: str) -> None:
    await conn.execute("UPDATE listings SET admitted_at = now(), admission_reason = '' WHERE id = $1", listing_id)
    await conn.execute("INSERT INTO contracts (id, listing_id, terms) VALUES ($1, $2, $3::jsonb)",
                       contract_id, listing_id, terms_json)


async def set_admission_reason(conn: asyncpg.Connection, listing_id: str, reason: str) -> None:
    await conn.execute("UPDATE listings SET admission_reason = $2 WHERE id = $1 AND admitted_at IS NULL",
                       listing_id, reason[:500])


async def current_contract(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {CONTRACT_COLUMNS} FROM contracts c WHERE c.listing_id = $1 ORDER BY c.created_at DESC LIMIT 1",
        listing_id)


async def lock_contract(conn: asyncpg.Connection, contract_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {CONTRACT_COLUMNS} FROM contracts c WHERE c.id = $1 FOR UPDATE",
                               contract_id)


async def set_contract(conn: asyncpg.Connection, contract_id: str, state: str, strikes: int, reason: str) -> None:
    await conn.execute("""UPDATE contracts SET state = $2, strikes = $3, state_reason = $4, updated_at = now()
                          WHERE id = $1 AND (state, strikes, state_reason) IS DISTINCT FROM ($2, $3, $4)""",
                       contract_id, state, strikes, reason[:500])


async def set_pool_key_status(conn: asyncpg.Connection, listing_id: str, status: str) -> None:
    await conn.execute("""UPDATE pool_keys SET status = $2
                          WHERE id = (SELECT pool_key_id FROM listings WHERE id = $1) AND status <> $2""",
                       listing_id, status)


async def contracts_of_listing(conn: asyncpg.Connection, account_id: str, listing_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"""SELECT {CONTRACT_COLUMNS} FROM contracts c JOIN listings l ON l.id = c.listing_id
            WHERE c.listing_id = $1 AND l.account_id = $2 ORDER BY c.created_at DESC, c.id""",
        listing_id, account_id))


async def contract_of(conn: asyncpg.Connection, account_id: str, contract_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {CONTRACT_COLUMNS} FROM contracts c JOIN listings l ON l.id = c.listing_id
            WHERE c.id = $1 AND l.account_id = $2""", contract_id, account_id)


async def listing_owned(conn: asyncpg.Connection, account_id: str, listing_id: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM listings WHERE id = $1 AND account_id = $2)",
                                    listing_id, account_id))
