"""Where one request may go: model and access checks, then the ranked candidates (pure, in memory).

`Planner.plan` checks that the model exists and can serve the endpoint (404/400), the key's
access rules, the account's accepted Trading Terms (403, needed for market-only routing),
then ranks the model's eligible listings under the key's routing policy refined by the
request's routing headers. Rankings are cached per (snapshot version, model, capability,
stats epoch, capped listings, policy); exploration draws rank afresh.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from proxy.auth import check_access
from proxy.endpoints import CAPABILITY_NAMES, Endpoint, eligible
from proxy.errors import BadRequest, Forbidden, MarketUnavailable, NotFound, RateLimited
from proxy.limits.limiter import retry_headers
from proxy.routing.cache import RankCache
from proxy.routing.headers import NO_HEADERS, RouteHeaders
from proxy.routing.policy import DEFAULT_POLICY, Policy, refine
from proxy.routing.rank import EXPLORE_RATE, explain, rank
from proxy.routing.stats import StatsBook
from proxy.routing.sticky import sticky_first
from proxy.snapshot.index import KeyEntry, ListingEntry, RoutingIndex
from wire.snapshot import FeeProfile

_NO_CAPS: frozenset[str] = frozenset()


def no_caps() -> frozenset[str]:
    """Listings at their seller's rpm/concurrency cap: none unless the limiter supplies them."""
    return _NO_CAPS


def terms_required() -> Forbidden:
    return Forbidden(
        "Market routing (Routing-Strategy: market-only) requires accepting the Trading Terms. "
        "Accept them with POST /api/account/trading-terms (logged in), then retry."
    )


def all_capped(model: str) -> RateLimited:
    return RateLimited(f"Every listing for '{model}' is at its seller's capacity (requests per minute or "
                       "concurrent requests). Retry after 1s.", 1.0, retry_headers(1.0))


def check_capability(index: RoutingIndex, model: str, endpoint: Endpoint) -> None:
    """404 for an unknown model; 400 when the model cannot serve this endpoint at all."""
    found = index.models.get(model)
    if found is None:
        raise NotFound(f"Model '{model}' does not exist. GET /v1/models lists the available models.")
    if endpoint.capability not in found.capabilities:
        raise BadRequest(f"Model '{model}' does not support {CAPABILITY_NAMES[endpoint.capability]} "
                         f"(its capabilities: {', '.join(found.capabilities)}). GET /v1/models lists each "
                         "model's capabilities.")


@dataclass(slots=True)
class Plan:
    """Where a request may go: ranked candidates, the model's eligible listings, the policy."""

    candidates: tuple[ListingEntry, ...]
    peers: tuple[ListingEntry, ...]
    policy: Policy
    deadline_s: float
    fees: dict[str, FeeProfile]  # fee profiles by id (billing)
    deadline_name: str = ""  # whose deadline, for the 504 when it cuts the attempts off

    def fees_of(self, listing: ListingEntry) -> FeeProfile | None:
        return self.fees.get(listing.listing.fee_profile_id or "")


class Planner:
    def __init__(self, book: StatsBook, capped: Callable[[], frozenset[str]], deadline_s: float) -> None:
        self.book = book
        self.capped = capped
        self._deadline_s = deadline_s
        self._rand = random.Random()
        self._rankings = RankCache()

    def plan(self, index: RoutingIndex, entry: KeyEntry, model: str, endpoint: Endpoint, client_ip: str,
             route_headers: RouteHeaders) -> Plan:
        """Model, access and terms checks, then the ranked candidates under the key's policy."""
        check_capability(index, model, endpoint)
        check_access(entry, client_ip, model)
        account = index.accounts.get(entry.key.account_id)
        if account is None or not account.trading_terms_accepted:
            raise terms_required()
        listings = eligible(index.listings.get(model, ()), endpoint)
        profile_id = entry.key.routing_profile_id
        policy = index.policies.get(profile_id, DEFAULT_POLICY) if profile_id else DEFAULT_POLICY
        if route_headers is not NO_HEADERS:
            policy = refine(policy, route_headers)
        book = self.book
        capped = self.capped()
        now = book.clock()
        draw = self._rand.random()
        ranking = None
        if draw >= EXPLORE_RATE:  # exploration draws rank afresh
            key = (index.version, model, endpoint.capability, book.epoch, capped,
                   policy if policy.session_id is None else replace(policy, session_id=None))
            ranking = self._rankings.get(key, now)
        if ranking is None:
            ranking = rank(listings, policy, book.health, index.stats, capped, now, book.unavailable, draw)
            if draw >= EXPLORE_RATE:
                self._rankings.put(key, ranking, now)
        candidates = ranking.candidates
        if not candidates:
            raise MarketUnavailable(explain(model, len(listings), ranking.excluded, policy))
        if policy.session_id is not None:
            candidates = sticky_first(candidates, policy.session_id)
        if policy.deadline_ms:
            deadline, name = policy.deadline_ms / 1000, f"the routing profile's deadline_ms of {policy.deadline_ms} ms"
        else:
            deadline, name = self._deadline_s, f"the gateway's route deadline of {self._deadline_s:g} s"
        return Plan(candidates=candidates, peers=listings, policy=policy, deadline_s=deadline,
                    fees=index.fee_profiles, deadline_name=name)
