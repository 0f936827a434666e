"""Live listing statistics reported by proxies, through Redis, to the control plane.

Each proxy worker writes one `StatsReport` (msgpack) as a field of the Redis hash
`{prefix}stats:reports` (field = the worker's id) every few seconds, in the background
— never per request. The control plane reads the hash when it builds a snapshot,
drops reports older than `REPORT_MAX_AGE_S`, aggregates them per listing weighted by
samples and ships the result as `Snapshot.stats`, so a new proxy ranks well at once.
Reports also carry each worker's cumulative 401/403 answers and breaker ejections per
listing (the seller's `ejections` stat, `ejection_counts`).
"""

from __future__ import annotations

import msgspec

from wire.snapshot import ListingStats

REPORT_MAX_AGE_S = 120


class StatsReport(msgspec.Struct, frozen=True, kw_only=True):
    worker: str
    at: int  # unix seconds
    listings: tuple[ListingStats, ...] = ()
    # (listing id, upstream 401/403 answers this worker has seen since it started): cumulative,
    # so the control plane counts new ones by difference (`new_auth_failures`)
    auth_failures: tuple[tuple[str, int], ...] = ()
    # (listing id, breaker ejections this worker made since it started): cumulative
    ejections: tuple[tuple[str, int], ...] = ()


def reports_key(prefix: str) -> str:
    return f"{prefix}stats:reports"


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StatsReport)


def encode_report(report: StatsReport) -> bytes:
    return _encoder.encode(report)


def decode_report(body: bytes) -> StatsReport:
    return _decoder.decode(body)


def new_auth_failures(reports: list[StatsReport], seen: dict[tuple[str, str], int],
                      now: int) -> dict[str, int]:
    """Per listing, the upstream 401/403 answers reported since the last call; `seen` (worker,
    listing) -> count is updated in place. A worker seen for the first time counts in full."""
    out: dict[str, int] = {}
    for report in reports:
        if now - report.at > REPORT_MAX_AGE_S:
            continue
        for listing_id, count in report.auth_failures:
            key = (report.worker, listing_id)
            new = count - seen.get(key, 0)
            seen[key] = count
            if new > 0:
                out[listing_id] = out.get(listing_id, 0) + new
    return out


def ejection_counts(reports: list[StatsReport], now: int) -> dict[str, int]:
    """Per listing, the ejections of the fresh reports summed over workers (each worker's count
    since it started: a restarted worker starts again from 0)."""
    out: dict[str, int] = {}
    for report in reports:
        if now - report.at > REPORT_MAX_AGE_S:
            continue
        for listing_id, count in report.ejections:
            out[listing_id] = out.get(listing_id, 0) + count
    return out


def aggregate(reports: list[StatsReport], now: int) -> tuple[ListingStats, ...]:
    """Per listing, the sample-weighted mean of fresh reports; quantized so bytes do not churn.

    TTFT is rounded to 10 ms, tokens/s to 1, error rate to 1 %; sorted by listing id.
    """
    sums: dict[str, list[float]] = {}
    for report in reports:
        if now - report.at > REPORT_MAX_AGE_S:
            continue
        for s in report.listings:
            if s.samples <= 0:
                continue
            acc = sums.setdefault(s.listing_id, [0.0, 0.0, 0.0, 0.0])
            acc[0] += s.ttft_ms * s.samples
            acc[1] += s.tps * s.samples
            acc[2] += s.error_rate * s.samples
            acc[3] += s.samples
    out: list[ListingStats] = []
    for listing_id, (ttft, tps, err, n) in sorted(sums.items()):
        out.append(ListingStats(listing_id=listing_id, ttft_ms=round(ttft / n, -1), tps=float(round(tps / n)),
                                error_rate=round(err / n, 2), samples=min(int(n), 100)))
    return tuple(out)
