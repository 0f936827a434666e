"""`python -m control_plane.ledger_check` (what `dragonfly ledger check` runs): verify the ledger.

Invariants, over the whole ledger (exit 0 when all hold, 1 with one line per violation):
 1. every journal's postings sum to zero, and every journal has postings;
 2. the sum of all postings is zero (conservation, `external` included);
 3. every running balance equals the sum of its postings;
 4. every generation is billed once: cost > 0 <=> exactly one usage journal, whose postings are
    buyer -cost, seller +payout, platform_fee +fee; every usage journal has its generation;
 5. cost = seller payout + platform fee, and it is reproducible from (tokens, asks, fees) with
    `wire.pricing.charge`; a capped generation (`capped_micro_usd` > 0) costs that charge minus
    the cut, at most its reservation, split by `wire.pricing.capped`;
 6. each key's month-to-date spend equals the sum of its generations' costs in that month;
 7. every confirmed top-up payment has exactly one `topup` journal (its own payment id and account,
    external -received, buyer +received) and every topup journal has its confirmed payment; no
    payment was confirmed at or after its expiry;
 8. no two payment intents held one deposit address at the same time;
 9. every payout has exactly one `payout_request` journal (seller -amount, payout_pending +amount),
    one `payout_reject` (payout_pending -amount, seller +amount) iff rejected, one `payout_paid`
    (payout_pending -amount, external +amount) iff paid, each of its own account; every payout
    journal has its payout;
10. each seller's `payout_pending` balance equals its payouts still requested or approved, and no
    seller balance is below zero (withdrawals never take more than was earned).
Warnings (printed, not failures): buyer balances below zero (settlement never takes a balance below
zero; only charges settled before that rule existed can have).
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from control_plane.db.pool import connect
from control_plane.settings import load_settings
from wire.pricing import Asks, capped, charge

CHECKS: dict[str, str] = {
    "journal postings sum to zero": """
        SELECT j.id::text FROM ledger_journals j LEFT JOIN ledger_postings p ON p.journal_id = j.id
        GROUP BY j.id HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0 LIMIT 20""",
    "all postings sum to zero": """
        SELECT coalesce(sum(amount), 0)::text FROM ledger_postings HAVING coalesce(sum(amount), 0) <> 0""",
    "balances equal postings": """
        SELECT coalesce(b.book, p.book) || ':' || coalesce(b.account_id, p.account_id)::text
        FROM ledger_balances b FULL JOIN (
            SELECT book, account_id, sum(amount) AS total, sum(greatest(amount, 0)) AS credited
            FROM ledger_postings GROUP BY book, account_id) p
          ON p.book = b.book AND p.account_id = b.account_id
        WHERE coalesce(b.balance, 0) <> coalesce(p.total, 0) OR coalesce(b.credited, 0) <> coalesce(p.credited, 0)
        LIMIT 20""",
    "every generation billed once": """
        SELECT g.request_id FROM generations g LEFT JOIN ledger_journals j ON j.id = g.journal_id
        WHERE (g.cost_micro_usd > 0) <> (g.journal_id IS NOT NULL)
           OR (j.id IS NOT NULL AND (j.kind <> 'usage' OR j.request_id <> g.request_id))
           OR (j.id IS NOT NULL AND (
                (SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE journal_id = j.id AND book = 'buyer')
                    <> -g.cost_micro_usd
             OR (SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE journal_id = j.id AND book = 'seller')
                    <> g.seller_payout_micro_usd
             OR (SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE journal_id = j.id
                 AND book = 'platform_fee') <> g.platform_fee_micro_usd))
        UNION ALL
        SELECT j.request_id FROM ledger_journals j LEFT JOIN generations g ON g.journal_id = j.id
        WHERE j.kind = 'usage' AND g.request_id IS NULL
        LIMIT 20""",
    "key month-to-date spend equals generations": """
        SELECT coalesce(s.key_id, g.key_id) || '@' || coalesce(s.month, g.month)::text
        FROM key_spend s FULL JOIN (
            SELECT key_id, month, sum(cost_micro_usd) AS total FROM generations
            WHERE cost_micro_usd > 0 GROUP BY key_id, month) g
          ON g.key_id = s.key_id AND g.month = s.month
        WHERE coalesce(s.spent, 0) <> coalesce(g.total, 0) LIMIT 20""",
    "every confirmed payment has one topup journal": """
        SELECT 'payment ' || p.id::text FROM crypto_payments p LEFT JOIN ledger_journals j ON j.id = p.journal_id
        WHERE (p.confirmed_at IS NOT NULL) <> (j.id IS NOT NULL)
           OR p.confirmed_at >= p.expires_at
           OR (j.id IS NOT NULL AND (j.kind <> 'topup' OR j.payment_id IS DISTINCT FROM p.id
                                     OR j.account_id <> p.account_id))
           OR (j.id IS NOT NULL AND (
                (SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE journal_id = j.id AND book = 'buyer'
                 AND account_id = p.account_id) <> p.received_usdt_micro
             OR (SELECT count(*) FROM ledger_postings WHERE journal_id = j.id) <> 2
             OR (SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE journal_id = j.id AND book = 'external')
                    <> -p.received_usdt_micro))
        UNION ALL
        SELECT 'journal ' || j.id::text FROM ledger_journals j LEFT JOIN crypto_payments p ON p.journal_id = j.id
        WHERE j.kind = 'topup' AND (p.id IS NULL OR p.id <> j.payment_id)
        LIMIT 20""",
    "deposit addresses held by one payment at a time": """
        SELECT a.id::text || '/' || b.id::text FROM crypto_payments a JOIN crypto_payments b
          ON b.address = a.address AND a.id < b.id
         AND a.created_at < coalesce(b.confirmed_at, b.expires_at)
         AND b.created_at < coalesce(a.confirmed_at, a.expires_at)
        LIMIT 20""",
    "every payout step has its journal": """
        SELECT 'payout ' || p.id::text FROM payouts p
        WHERE (SELECT count(*) FROM ledger_journals j WHERE j.payout_id = p.id AND j.kind = 'payout_request') <> 1
           OR (SELECT count(*) FROM ledger_journals j WHERE j.payout_id = p.id AND j.kind = 'payout_reject')
                <> (p.status = 'rejected')::int
           OR (SELECT count(*) FROM ledger_journals j WHERE j.payout_id = p.id AND j.kind = 'payout_paid')
                <> (p.status = 'paid')::int
        UNION ALL
        SELECT 'journal ' || j.id::text FROM ledger_journals j LEFT JOIN payouts p ON p.id = j.payout_id
        WHERE j.payout_id IS NOT NULL AND (
              p.id IS NULL OR j.account_id <> p.account_id
           OR (SELECT count(*) FROM ledger_postings x WHERE x.journal_id = j.id) <> 2
           OR (SELECT coalesce(sum(x.amount), 0) FROM ledger_postings x WHERE x.journal_id = j.id
               AND x.book = 'payout_pending' AND x.account_id = p.account_id)
                <> CASE j.kind WHEN 'payout_request' THEN p.amount_micro_usd ELSE -p.amount_micro_usd END
           OR (SELECT coalesce(sum(x.amount), 0) FROM ledger_postings x WHERE x.journal_id = j.id
               AND x.book = CASE j.kind WHEN 'payout_paid' THEN 'external' ELSE 'seller' END
               AND x.account_id = CASE j.kind WHEN 'payout_paid' THEN '00000000-0000-0000-0000-000000000000'::uuid
                                              ELSE p.account_id END)
                <> CASE j.kind WHEN 'payout_request' THEN -p.amount_micro_usd ELSE p.amount_micro_usd END)
        LIMIT 20""",
    "pending payouts equal open withdrawals; seller balances not below zero": """
        SELECT 'pending ' || coalesce(b.account_id, o.account_id)::text
        FROM (SELECT account_id, balance FROM ledger_balances WHERE book = 'payout_pending') b
        FULL JOIN (SELECT account_id, sum(amount_micro_usd) AS total FROM payouts
                   WHERE status IN ('requested', 'approved') GROUP BY account_id) o ON o.account_id = b.account_id
        WHERE coalesce(b.balance, 0) <> coalesce(o.total, 0)
        UNION ALL
        SELECT 'seller ' || account_id::text FROM ledger_balances WHERE book = 'seller' AND balance < 0
        LIMIT 20""",
}


async def check(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    """(violations, warnings) — each a line naming the invariant and the first offenders."""
    problems: list[str] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for name, sql in CHECKS.items():
            rows = await conn.fetch(sql)
            if rows:
                problems.append(f"{name}: violated by {', '.join(str(r[0]) for r in rows)}")
        bad: list[str] = []
        async for r in conn.cursor(
            "SELECT request_id, status, prompt_tokens, cached_tokens, completion_tokens, ask_input, ask_output,"
            " ask_cached_input, buyer_fee_bps, seller_fee_bps, cost_micro_usd, seller_payout_micro_usd,"
            " platform_fee_micro_usd, reserved_micro_usd, capped_micro_usd FROM generations"
        ):
            asks = Asks(ask_input=r[5], ask_output=r[6], ask_cached_input=r[7], buyer_fee_bps=r[8],
                        seller_fee_bps=r[9])
            c = charge(r[2], r[3], r[4], asks)
            cut = r[14]
            if cut:  # a capped charge: the split of the capped cost, the cut recorded, within the reservation
                if c.cost - cut != r[10] or r[10] > r[13]:
                    bad.append(r[0])
                    continue
                c = capped(c, r[10], asks)
            if (c.cost, c.seller_payout, c.platform_fee) != (r[10], r[11], r[12]):
                bad.append(r[0])
        if bad:
            problems.append(f"charges reproducible from usage and asks: violated by {', '.join(bad[:20])}")
        negative = await conn.fetch(
            "SELECT account_id::text, balance FROM ledger_balances WHERE book = 'buyer' AND balance < 0 LIMIT 20")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM ledger_journals), (SELECT count(*) FROM ledger_postings),"
            " (SELECT count(*) FROM generations)")
    warnings = [f"buyer balance below zero (offline allowance): {r[0]} {r[1]}" for r in negative]
    warnings.append(f"checked {counts[0]} journals, {counts[1]} postings, {counts[2]} generations")
    return problems, warnings


async def _main() -> int:
    settings = load_settings()
    conn = await connect(settings.database_url, connect_timeout_s=settings.db_connect_timeout_s,
                         command_timeout_s=300)
    try:
        problems, warnings = await check(conn)
    finally:
        await conn.close()
    for line in warnings:
        print(f"ledger check: {line}")
    for line in problems:
        print(f"ledger check: FAILED {line}", file=sys.stderr)
    print("ledger check: " + ("OK" if not problems else f"{len(problems)} invariant(s) violated"))
    return 1 if problems else 0


def main() -> int:
    try:
        return asyncio.run(_main())
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"ledger check: cannot read the ledger: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
