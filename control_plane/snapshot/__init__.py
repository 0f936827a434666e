"""Snapshots for the proxies: `rows.py` (input types), `builder.py` (pure rows -> Snapshot),
`redis_store.py` (the Redis edge: sections, manifest, notice), `publisher.py` (debounced
rebuild loop woken by PostgreSQL NOTIFY)."""
