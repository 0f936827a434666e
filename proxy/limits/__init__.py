"""Rate limits and capacity caps: buyer RPM/TPM and daily quotas, seller RPM/concurrency per listing.

Pure cores (`window`, `lease`, `slots`, `tokens`, `headers`, `bucket`, `ipguard`) decide;
`limiter` holds the per-key state of one worker; `redis_sync` is the only module here that does
I/O (grants from Redis in the background, never on the request path). Must not import
blacksheep, pyreqwest or control_plane.
"""
