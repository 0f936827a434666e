"""The reservation of one request, before any upstream call (no I/O of its own).

The request's maximum cost (`wire.pricing.max_cost` of its `Bounds`) is reserved at the
costliest listing among those it may be sent to (the attempts fallback may make), so a
fallback never costs more than was reserved; the meter is re-pointed at the listing that
answers (`Meter.served_by`). 402 / 503 come from `Billing.admit`. An admitted request is
journaled (`proxy.billing.journal`) before it goes upstream.
"""

from __future__ import annotations

from proxy.billing.bounds import Bounds
from proxy.billing.gate import Billing, asks_of
from proxy.billing.journal import placeholder
from proxy.billing.metering import Meter
from proxy.snapshot.index import ListingEntry
from wire.pricing import max_cost
from wire.snapshot import FeeProfile, Key


async def reserve(billing: Billing, request_id: str, key: Key, tried: tuple[ListingEntry, ...],
                  fees: dict[str, FeeProfile], bounds: Bounds) -> Meter:
    def fees_of(e: ListingEntry) -> FeeProfile | None:
        return fees.get(e.listing.fee_profile_id or "")

    costliest = tried[0]
    if len(tried) > 1:
        costliest = max(tried, key=lambda e: max_cost(bounds.prompt_bound, bounds.cap, asks_of(e.listing, fees_of(e))))
    admission = await billing.admit(request_id, key, costliest.listing, fees_of(costliest), bounds)
    billing.shipper.admitted(placeholder(admission))  # journaled before any upstream call
    return Meter(billing, admission, bounds)
