"""The control plane: accounts, keys, listings and the snapshots proxies route from.

Owns every write to PostgreSQL (schema in `migrations/`), the account/buyer/seller
HTTP API (`http/`), and building + publishing `wire.snapshot.Snapshot` to Redis
(`snapshot/`). Imports `wire` for the contract with the proxy; never imports `proxy`.
I/O lives at named edges: `db/*` (PostgreSQL), `snapshot/redis_store.py` (Redis),
`mailer.py` (mail outbox). Everything else is pure and unit-tested without servers.
"""
