"""Admission and metering of one request: reserve its maximum cost before any upstream call,
then turn what it used into a usage event. The proxy's only billing entry points.

Rules (README "Billing"): the reservation is `wire.pricing.max_cost(prompt bound, completion
cap)` at the listing's asks and fee profile; 402 when the account's available credit or the
key's remaining monthly budget cannot cover it, naming what the request could cost and what
is available. The reservation comes out of this worker's credit leases (`proxy.billing.leases`:
no I/O per request). When Redis is unreachable (or its billing view is being rebuilt) and the
leases cannot cover a request, it is admitted against a per-account offline allowance of this
process; past it, 503. The allowance is granted only while Redis is known down (a failed lease
round), never because one wait ran out (that is a 503 to retry), and an account's offline usage
is forgotten only by that account's own next successful reservation.
Every charge is at most its reservation (`wire.usage.charge_of`, the same cap the settlement
applies): `finish` counts a capped charge per listing (`capped`, exported as
`gateway_billing_capped_total`) and logs it; usage reports above our own count are counted in
`mismatches` (`gateway_billing_usage_mismatches_total`).
Failure modes: none raised past admission; `finish` only buffers (the shipper does the I/O).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from proxy.billing.bounds import Bounds
from proxy.billing.leases import NO_CREDIT, OFFLINE, SLOW, CreditBook, Held
from proxy.billing.meter import Metered
from proxy.billing.shipper import UsageShipper
from proxy.errors import BillingUnavailable, PaymentRequired
from wire.billing import month_of
from wire.money import micros_to_usd
from wire.pricing import Asks, affordable_completion_tokens, max_cost
from wire.snapshot import FeeProfile, Key, Listing
from wire.usage import UsageEvent, UsageStatus, charge_of, uncapped_charge_of

log = logging.getLogger("proxy.billing")


@dataclass(slots=True)
class Admission:
    request_id: str
    key: Key
    listing: Listing
    asks: Asks
    reserved: int
    month: int
    started_ns: int
    started_ms: int
    prompt_bound: int
    cap: int
    offline: bool
    held: Held | None


def asks_of(listing: Listing, fees: FeeProfile | None) -> Asks:
    return Asks(ask_input=listing.ask_input, ask_output=listing.ask_output, ask_cached_input=listing.ask_cached_input,
                buyer_fee_bps=fees.buyer_fee_bps if fees else 0, seller_fee_bps=fees.seller_fee_bps if fees else 0)


def _usd(micros: int) -> str:
    return "$" + micros_to_usd(max(micros, 0))


class Billing:
    def __init__(self, book: CreditBook, shipper: UsageShipper, offline_allowance: int) -> None:
        self.book = book
        self.shipper = shipper
        self._allowance = offline_allowance
        self._offline: dict[str, int] = {}
        self.mismatches: dict[str, int] = {}  # listing id -> usage reports above our count
        self.capped: dict[str, int] = {}  # listing id -> charges cut to their reservation
        self.estimated: dict[str, int] = {}  # listing id -> charges from our own token estimate
        self.rejections: dict[str, int] = {}  # reason -> requests refused (402 / 503)

    def _refuse(self, reason: str) -> None:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1

    async def admit(self, request_id: str, key: Key, listing: Listing, fees: FeeProfile | None,
                    bounds: Bounds) -> Admission:
        asks = asks_of(listing, fees)
        body_len, cap = bounds.prompt_bound, bounds.cap
        amount = max_cost(body_len, cap, asks)
        if not self.shipper.accepting:
            self._refuse("spool_full")
            raise BillingUnavailable("Usage cannot be recorded right now (spool full). Retry in a few seconds.")
        now = time.time()
        month = month_of(now)
        budget = key.monthly_budget_micro_usd
        outcome, available, held = await self.book.reserve(key.account_id, key.id, month, budget, amount)
        offline = outcome == OFFLINE
        if outcome == SLOW:
            self._refuse("slow")
            raise BillingUnavailable("Billing is slow to answer right now. Retry in a few seconds.")
        if offline:
            used = self._offline.get(key.account_id, 0)
            if used + amount > self._allowance:
                self._refuse("offline_allowance")
                raise BillingUnavailable("Billing is briefly unavailable and this request exceeds the offline "
                                         "allowance. Retry in a few seconds.")
            self._offline[key.account_id] = used + amount
        elif held is None:
            self._refuse("no_credit" if outcome == NO_CREDIT else "key_budget")
            afford = affordable_completion_tokens(available, body_len, asks)
            head = (f"Insufficient balance: this request could cost up to {_usd(amount)}, available {_usd(available)}"
                    if outcome == NO_CREDIT else
                    f"This key's monthly budget ({_usd(budget or 0)}) has {_usd(available)} left; this request "
                    f"could cost up to {_usd(amount)}")
            fix = "top up" if outcome == NO_CREDIT else "raise the key's monthly_budget_cents"
            if cap > 0:
                raise PaymentRequired(f"{head}. Requested up to {cap:,} output tokens, can afford {afford:,}: "
                                      f"lower max_tokens or {fix}.")
            raise PaymentRequired(f"{head} ({body_len:,} {bounds.unit}s at most): send less input or {fix}.")
        elif self._offline and not self.shipper.backlog:
            self._offline.pop(key.account_id, None)  # Redis is back and knows this account's offline charges
        return Admission(request_id=request_id, key=key, listing=listing, asks=asks, reserved=amount, month=month,
                         started_ns=time.monotonic_ns(), started_ms=int(now * 1000), prompt_bound=body_len, cap=cap,
                         offline=offline, held=held)

    def finish(self, adm: Admission, status: UsageStatus, metered: Metered | None, first_chunk_ns: int) -> None:
        m = metered or Metered(prompt_tokens=0, completion_tokens=0)
        lst = adm.listing
        if m.mismatch:
            self.mismatches[lst.id] = self.mismatches.get(lst.id, 0) + 1
        if m.estimated:
            self.estimated[lst.id] = self.estimated.get(lst.id, 0) + 1
        event = UsageEvent(
            request_id=adm.request_id, account_id=adm.key.account_id, key_id=adm.key.id, listing_id=lst.id,
            seller_account_id=lst.seller_account_id, model=lst.model, provider=lst.provider,
            upstream_model=lst.upstream_model, status=status, prompt_tokens=m.prompt_tokens,
            completion_tokens=m.completion_tokens, cached_tokens=m.cached_tokens, usage_estimated=m.estimated,
            reported_completion_tokens=m.reported_completion, asks=adm.asks, fee_profile_id=lst.fee_profile_id,
            reserved_micro_usd=adm.reserved, month=adm.month, started_at_ms=adm.started_ms,
            ttft_ms=(first_chunk_ns - adm.started_ns) // 1_000_000 if first_chunk_ns else None,
            latency_ms=(time.monotonic_ns() - adm.started_ns) // 1_000_000, offline=adm.offline,
        )
        cost = charge_of(event).cost
        full = uncapped_charge_of(event).cost
        if full > cost:
            self.capped[lst.id] = self.capped.get(lst.id, 0) + 1
            log.warning("charge capped at its reservation: request %s listing %s charged %d of %d micro-USD",
                        adm.request_id, lst.id, cost, full)
        if adm.held is not None:
            self.book.settle(adm.held, cost)
        elif adm.offline:
            left = self._offline.get(adm.key.account_id, 0) - adm.reserved + cost
            self._offline[adm.key.account_id] = max(left, 0)
        self.shipper.submit(event)
