"""The asks routed listings carry in the snapshot, from their pricing controls (pure).

`control_plane.pricing_controls` states the rules; this applies them to one build: the catalog
prices of each model, each listing's fee profile, and the auto-follow market reference (computed
from the routed listings that do not follow, so it moves with the market on every build)."""

from __future__ import annotations

from collections.abc import Sequence

from control_plane.pricing_controls import Controls, Effective, effective, market_reference
from control_plane.snapshot.rows import FeeProfileRow, ListingRow, ModelRow


def controls_of(row: ListingRow) -> Controls:
    return Controls(ask_input=row.ask_input, ask_output=row.ask_output, ask_cached_input=row.ask_cached_input,
                    payout_floor=row.payout_floor, multiplier_bps=row.price_multiplier_bps,
                    auto_follow=row.auto_follow)


def routed_asks(rows: Sequence[ListingRow], models: Sequence[ModelRow],
                fee_profiles: Sequence[FeeProfileRow]) -> dict[str, Effective]:
    """Listing id -> its effective asks, for `rows` (the listings to be routed); `Effective.unmet`
    set: its controls cannot be met and it is not routable."""
    catalog = {m.id: (m.input_price, m.output_price) for m in models}
    seller_fee = {f.id: f.seller_fee_bps for f in fee_profiles}
    out: dict[str, Effective] = {}
    others: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        if row.auto_follow:
            continue
        ref = catalog.get(row.model, (row.ask_input, row.ask_output))
        eff = effective(controls_of(row), ref, ref, seller_fee.get(row.fee_profile_id or "", 0))
        out[row.id] = eff
        if eff.unmet is None:
            others.setdefault(row.model, []).append((eff.ask_input, eff.ask_output))
    for row in rows:
        if row.auto_follow:
            ref = catalog.get(row.model, (row.ask_input, row.ask_output))
            market = market_reference(ref, others.get(row.model, []))
            out[row.id] = effective(controls_of(row), ref, market, seller_fee.get(row.fee_profile_id or "", 0))
    return out
