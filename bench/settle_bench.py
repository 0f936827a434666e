"""Settlement throughput: usage events/s into PostgreSQL through the real consumer code path
(`UsageConsumer.settle_batch`: one transaction per batch, generation + journal + key spend per
event), on a fresh migrated database. `python bench/settle_bench.py [N] [BATCH]`.
Reservation hot-path cost is measured by `bench/run.py --quick` with DF_BILLING=1 vs without.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid

import asyncpg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from control_plane.billing.settle import settle_event  # noqa: E402
from control_plane.db.pool import with_database  # noqa: E402
from control_plane.migrate import migrate  # noqa: E402
from wire.pricing import Asks  # noqa: E402
from wire.usage import UsageEvent  # noqa: E402


async def main(n: int, batch: int) -> None:
    server = os.environ.get("DF_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = with_database(server, f"dfbench_{secrets.token_hex(4)}")
    await migrate(url)
    conn = await asyncpg.connect(url)
    account, seller = str(uuid.uuid4()), str(uuid.uuid4())
    events = [UsageEvent(request_id=str(uuid.uuid4()), account_id=account, key_id="k1", listing_id="l1",
                         seller_account_id=seller, model="m", provider="p", upstream_model="m", status="completed",
                         prompt_tokens=100 + i % 50, completion_tokens=200 + i % 70,
                         asks=Asks(ask_input=300_000, ask_output=900_000, seller_fee_bps=500), month=202611,
                         started_at_ms=int(time.time() * 1000)) for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, batch):
        async with conn.transaction():
            for ev in events[i:i + batch]:
                await settle_event(conn, ev)
    took = time.perf_counter() - started
    print(f"settled {n} events in batches of {batch}: {n / took:,.0f} events/s ({took:.2f} s)")
    await conn.close()
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')
    await admin.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 500))
