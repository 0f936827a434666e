"""Price review and the listing's effective asks (`POST /v1/market/listings/{id}/confirm-price`).

Price review, stated once: a PATCH that changes a listing's pricing (asks, payout floor,
multiplier, auto-follow) is compared, as the asks it would be routed at (`pricing_controls`),
with the asks routed at now. When the input or output ask moves by more than
`DF_PRICE_REVIEW_BAND_BPS` of the current one (default 5000 = ±50 %; any rise from zero), or
falls below the catalog floor (`DF_PRICE_FLOOR_BPS` of the catalog price, default 10 %), the
pricing part of the change is held in `pending_price` and the listing shows `status:
"price_review"` with the reason. It keeps routing **at its current asks** (what a seller who
mistyped a price expects: no traffic at the new price, no lost traffic either) until the seller
confirms with `confirm-price`, which applies the held change. A later in-band price PATCH
replaces a held one; the other fields of a PATCH apply at once. Prices moved by the market
(auto-follow, catalog changes under a multiplier) are the seller's standing choice and are not
reviewed.
"""

from __future__ import annotations

import asyncpg
import msgspec

from control_plane.db import listing_market as market
from control_plane.db import listings as db
from control_plane.errors import Conflict, NotFound
from control_plane.http.views import multiplier_text
from control_plane.pricing_controls import Controls, Effective, effective, market_reference, scale
from control_plane.schemas.seller import ListingPricing, ListingView, PendingPrice
from control_plane.settings import Settings
from control_plane.validation import check_cached_ask
from wire.money import micros_to_usd

PRICE_FIELDS = ("ask_input", "ask_output", "ask_cached_input", "payout_floor", "price_multiplier_bps", "auto_follow")
_NOT_FOUND = "no listing with this id on your account; list yours with GET /v1/market/listings"


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def controls(values: dict[str, object]) -> Controls:
    """Pricing controls from listing column values (`PRICE_FIELDS`)."""
    return Controls(ask_input=int(str(values["ask_input"])), ask_output=int(str(values["ask_output"])),
                    ask_cached_input=_int(values["ask_cached_input"]), payout_floor=_int(values["payout_floor"]),
                    multiplier_bps=_int(values["price_multiplier_bps"]), auto_follow=bool(values["auto_follow"]))


async def effective_of(conn: asyncpg.Connection, row: asyncpg.Record | dict[str, object],
                       values: dict[str, object] | None = None) -> tuple[Effective, tuple[int, int]]:
    """(the asks `row` — with `values` applied — is routed at now, the catalog price). Mirrors
    `control_plane.snapshot.asks` for one listing."""
    fields = {k: row[k] for k in PRICE_FIELDS} | (values or {})
    mine = controls(fields)
    catalog = await market.catalog_price(conn, str(row["model"])) or (mine.ask_input, mine.ask_output)
    fee = await market.seller_fee_bps(conn, str(row["fee_profile_id"] or ""))
    ref = catalog
    if mine.auto_follow:
        others = []
        for r in await market.market_listings(conn, str(row["model"]), str(row["id"])):
            if r["auto_follow"]:
                continue
            eff = effective(controls(dict(r)), catalog, catalog, int(r["seller_fee_bps"]))
            if eff.unmet is None:
                others.append((eff.ask_input, eff.ask_output))
        ref = market_reference(catalog, others)
    return effective(mine, catalog, ref, fee), catalog


def review_reason(before: Effective, after: Effective, catalog: tuple[int, int], s: Settings) -> str | None:
    """Why moving from `before` to `after` needs the seller's confirmation; None when it does not."""
    for side, old, new, cat in (("input", before.ask_input, after.ask_input, catalog[0]),
                                ("output", before.ask_output, after.ask_output, catalog[1])):
        floor = scale(cat, s.price_floor_bps)
        if new < floor:
            return (f"the {side} ask ${micros_to_usd(new)}/M is below the catalog floor ${micros_to_usd(floor)}/M "
                    f"({s.price_floor_bps / 100:g} % of the catalog price)")
        if abs(new - old) * 10_000 > s.price_review_band_bps * old or (old == 0 and new > 0):
            return (f"the {side} ask moves from ${micros_to_usd(old)}/M to ${micros_to_usd(new)}/M, more than "
                    f"{s.price_review_band_bps / 100:g} % of the current ask")
    return None


async def hold_for_review(conn: asyncpg.Connection, settings: Settings, row: asyncpg.Record,
                          values: dict[str, object]) -> dict[str, object]:
    """`values` to apply now: a pricing change beyond the band is moved into `pending_price`."""
    pricing = {k: v for k, v in values.items() if k in PRICE_FIELDS}
    if not pricing:
        return values
    before, catalog = await effective_of(conn, row)
    after, _ = await effective_of(conn, row, pricing)
    reason = review_reason(before, after, catalog, settings)
    rest = {k: v for k, v in values.items() if k not in PRICE_FIELDS}
    if reason is None:
        return {**values, "pending_price": None, "price_review_reason": None}
    held = {k: row[k] for k in PRICE_FIELDS} | pricing
    return {**rest, "pending_price": msgspec.json.encode(held).decode(), "price_review_reason": reason}


def _usd(value: object) -> str | None:
    return None if value is None else micros_to_usd(int(str(value)))


def pending_view(raw: str | None) -> PendingPrice | None:
    if raw is None:
        return None
    held = msgspec.json.decode(raw)
    return PendingPrice(ask_input=micros_to_usd(int(held["ask_input"])),
                        ask_output=micros_to_usd(int(held["ask_output"])),
                        ask_cached_input=_usd(held["ask_cached_input"]), payout_floor=_usd(held["payout_floor"]),
                        price_multiplier=multiplier_text(held["price_multiplier_bps"]),
                        auto_follow=bool(held["auto_follow"]))


async def with_pricing(conn: asyncpg.Connection, row: asyncpg.Record, view: ListingView) -> ListingView:
    """`view` with its effective asks and any held price change."""
    eff, _ = await effective_of(conn, row)
    pricing = ListingPricing(source=eff.source, ask_input=micros_to_usd(eff.ask_input),
                             ask_output=micros_to_usd(eff.ask_output),
                             ask_cached_input=_usd(eff.ask_cached_input),
                             floor_raised=eff.floor_raised, not_met=eff.unmet)
    return msgspec.structs.replace(view, effective=pricing, pending_price=pending_view(row["pending_price"]),
                                   not_routed=view.not_routed or eff.unmet)


async def apply_held(conn: asyncpg.Connection, account_id: str, listing_id: str) -> None:
    """Apply the held price change of the caller's listing (404 unknown, 409 when none is held)."""
    row = await db.get_listing(conn, account_id, listing_id)
    if row is None:
        raise NotFound(_NOT_FOUND)
    if row["pending_price"] is None:
        raise Conflict("no price change awaits confirmation on this listing")
    held = msgspec.json.decode(row["pending_price"])
    check_cached_ask(int(held["ask_input"]), _int(held["ask_cached_input"]))
    changes = {k: held[k] for k in PRICE_FIELDS} | {"pending_price": None, "price_review_reason": None}
    await db.update_listing(conn, account_id, listing_id, changes)
