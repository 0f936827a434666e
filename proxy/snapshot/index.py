"""RoutingIndex: one snapshot version, shaped for O(1) lookups on the hot path (pure).

Built once per snapshot version, off the request path; never mutated after.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import msgspec

from proxy.routing.policy import Policy, profile_policy
from wire.money import micros_to_usd
from wire.pricing import buyer_price
from wire.snapshot import Account, FeeProfile, Key, Listing, ListingStats, Model, Plan, Snapshot, check_consistent

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A buyer key with pre-parsed access rules (its account is looked up per request)."""

    key: Key
    allow: tuple[Network, ...]
    deny: tuple[Network, ...]
    models: frozenset[str]  # empty = every model


@dataclass(frozen=True, slots=True)
class ListingEntry:
    """A listing with everything the relay needs precomputed."""

    listing: Listing
    chat_url: str
    auth_header: str
    market_headers: tuple[tuple[bytes, bytes], ...]  # route diagnostics, fixed per listing
    id: str = ""  # the fields routing reads, flattened (one attribute load each)
    id_bytes: bytes = b""
    provider: str = ""
    trusted: bool = False
    # What a buyer can actually be charged per Mtok (routing's prices: ranking, X-Max-Price, profile
    # ceilings): the costlier of ask_input / ask_cached_input, and ask_output, each with the buyer fee
    # of the listing's fee profile (`wire.pricing.buyer_price`).
    ask_input: int = 0
    ask_output: int = 0
    price: int = 0  # blended: 3 x input + output, micro-USD per Mtok


@dataclass(frozen=True, slots=True)
class RoutingIndex:
    version: str
    created_at: int
    keys: dict[str, KeyEntry]
    accounts: dict[str, Account]
    models: dict[str, Model]
    listings: dict[str, tuple[ListingEntry, ...]]  # model id -> active listings, cheapest first
    models_json: bytes
    counts: dict[str, int] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)  # routing profile id -> its policy
    stats: dict[str, ListingStats] = field(default_factory=dict)  # aggregated across proxies
    plans: dict[str, Plan] = field(default_factory=dict)
    fee_profiles: dict[str, FeeProfile] = field(default_factory=dict)


class _ModelPricing(msgspec.Struct):
    input: str
    output: str
    unit: str = "usd_per_million_tokens"  # or usd_per_million_characters / usd_per_million_audio_seconds


class _ModelOut(msgspec.Struct):
    id: str
    owned_by: str
    pricing: _ModelPricing
    context_length: int
    capabilities: tuple[str, ...]
    object: str = "model"
    created: int = 0


class _ModelList(msgspec.Struct):
    data: list[_ModelOut]
    object: str = "list"


def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    out: list[Network] = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # the control plane validates; a bad entry here matches nothing
    return tuple(out)


def header_value(text: str) -> bytes:
    """A seller-supplied string as a safe response header value: visible ASCII and spaces pass,
    anything else (control characters, line breaks, non-ASCII) is percent-escaped as UTF-8, so
    a bad value from an old snapshot can never break a response (the control plane refuses
    control characters at registration)."""
    if text.isascii() and text.isprintable():
        return text.encode()
    return "".join(c if c.isascii() and c.isprintable() and c != "%" else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in text).encode()


def _listing_entry(listing: Listing, fees: FeeProfile | None = None) -> ListingEntry:
    headers = [
        (b"x-df-market-route", b"seller"),
        (b"x-df-market-provider", header_value(listing.provider)),
        (b"x-df-market-trusted", b"true" if listing.trusted else b"false"),
        (b"x-df-market-listing-id", header_value(listing.id)),
        (b"x-df-upstream-model", header_value(listing.upstream_model)),
        (b"x-df-market-ask-input", micros_to_usd(listing.ask_input).encode()),
        (b"x-df-market-ask-output", micros_to_usd(listing.ask_output).encode()),
    ]
    if listing.fee_profile_id:
        headers.append((b"x-df-market-fee-profile-id", header_value(listing.fee_profile_id)))
    fee = fees.buyer_fee_bps if fees is not None else 0
    ask_in = buyer_price(max(listing.ask_input, listing.ask_cached_input or 0), fee)
    ask_out = buyer_price(listing.ask_output, fee)
    return ListingEntry(
        listing=listing,
        chat_url=f"{listing.base_url.rstrip('/')}/chat/completions",
        auth_header=f"Bearer {listing.upstream_key}",
        market_headers=tuple(headers),
        id=listing.id,
        id_bytes=listing.id.encode(),
        provider=listing.provider.lower(),
        trusted=listing.trusted,
        ask_input=ask_in,
        ask_output=ask_out,
        price=3 * ask_in + ask_out,
    )


def _models_json(models: list[Model], created: int) -> bytes:
    data = [
        _ModelOut(
            id=m.id,
            owned_by=m.owned_by,
            pricing=_ModelPricing(input=micros_to_usd(m.input_price), output=micros_to_usd(m.output_price),
                                  unit=f"usd_per_million_{m.price_unit}s"),
            context_length=m.context_length,
            capabilities=m.capabilities,
            created=created,
        )
        for m in sorted(models, key=lambda m: m.id)
    ]
    return msgspec.json.encode(_ModelList(data=data))


def key_entry(key: Key) -> KeyEntry:
    return KeyEntry(key=key, allow=_networks(key.ip_whitelist), deny=_networks(key.ip_blacklist),
                    models=frozenset(key.model_allowlist))


def key_entries(keys: tuple[Key, ...]) -> dict[str, KeyEntry]:
    return {k.hash: key_entry(k) for k in keys}


def build_index(snap: Snapshot, keys: dict[str, KeyEntry] | None = None) -> RoutingIndex:
    """Check a snapshot and shape it for lookups. Raises SnapshotInconsistent.

    `keys` may be passed pre-built (the Redis source updates only the shards that changed);
    it must then correspond to `snap.keys`.
    """
    check_consistent(snap)
    by_model: dict[str, list[ListingEntry]] = {}
    fee_profiles = {f.id: f for f in snap.fee_profiles}
    for listing in snap.listings:
        if listing.status == "active":
            entry = _listing_entry(listing, fee_profiles.get(listing.fee_profile_id or ""))
            by_model.setdefault(listing.model, []).append(entry)
    listings = {
        model: tuple(sorted(entries, key=lambda e: (e.ask_input + e.ask_output, e.listing.id)))
        for model, entries in by_model.items()
    }
    return RoutingIndex(
        version=snap.version,
        created_at=snap.created_at,
        keys=key_entries(snap.keys) if keys is None else keys,
        accounts={a.id: a for a in snap.accounts},
        models={m.id: m for m in snap.models},
        listings=listings,
        models_json=_models_json(list(snap.models), snap.created_at),
        counts={"keys": len(snap.keys), "listings": len(snap.listings), "models": len(snap.models)},
        policies={p.id: profile_policy(p) for p in snap.profiles},
        stats={s.listing_id: s for s in snap.stats},
        plans={p.name: p for p in snap.plans},
        fee_profiles=fee_profiles,
    )


listing_entry = _listing_entry  # public for routing tests and benchmarks
