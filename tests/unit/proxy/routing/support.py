"""Listings and policies for routing unit tests."""

from __future__ import annotations

from proxy.snapshot.index import ListingEntry, listing_entry
from wire.snapshot import Listing


def entry(lid: str, price_in: int = 300_000, price_out: int = 900_000, provider: str = "p",
          trusted: bool = False) -> ListingEntry:
    return listing_entry(Listing(id=lid, seller_account_id="s", provider=provider, model="m/x", upstream_model="x",
                                 base_url="http://u/v1", ask_input=price_in, ask_output=price_out, trusted=trusted))
