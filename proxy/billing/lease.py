"""One worker's credit lease on one account (or one key's budget month) — pure, no I/O.

Redis (`wire.billing` hashes) records every worker's lease as a field `w:{worker}`, and the
lease round (`proxy.billing.lease_script`) only grants from what is left:
`credit (or budget) - spent - every live worker's lease >= 0`. Locally a lease splits into

    held (the Redis field) == free + inflight + unreported

- `free`: spendable now; a request reserves its maximum cost from it in memory (`take`);
- `inflight`: reservations of requests still running;
- `unreported`: actual charges of finished requests not yet added to Redis's `spent`.

`settle` moves a reservation to its actual cost (the rest back to `free`). Each round `plan`
reports the charges (with a sequence number, so a retried report is applied once), returns
free credit above the target and asks for `want`; Redis answers `grant` (never below the
floor `free + inflight`, which local requests may still use) and `apply` adds the difference.

Sizing: target free = credit waiting requests asked for + headroom (4x the recent spend per
round, at least 4x the last reservation), capped at `lease_max`, 0 after `IDLE_S` unused,
and no headroom while another worker waits for this account (`contended`).

Overspend bound: none while Redis keeps its data — every reservation comes out of a lease
Redis already subtracted from the available credit, and a charge never exceeds its
reservation. A worker that loses Redis keeps spending its own free lease (it is still
backed); past it, it admits on the offline allowance (`proxy.billing.gate`).
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_S = 1.0
HEADROOM_ROUNDS = 4
ADMIT, WAIT, REFUSE = 0, 1, 2


class CreditLease:
    __slots__ = ("redis_key", "limit", "free", "inflight", "unreported", "reporting", "seq", "demand", "used",
                 "predicted", "last_amount", "avail", "others", "contended", "synced", "epoch", "applied",
                 "last_used")

    def __init__(self, redis_key: str, limit: int) -> None:
        self.redis_key = redis_key
        self.limit = limit  # a key's monthly budget, or -1: the account's credit
        self.free = 0
        self.inflight = 0
        self.unreported = 0
        self.reporting = 0  # charges sent in a round not yet confirmed (re-sent with the same seq)
        self.seq = 0
        self.demand = 0  # what waiting requests need
        self.used = 0  # reserved since the last round
        self.predicted = 0.0  # EWMA of `used` per round
        self.last_amount = 0
        self.avail = 0  # Redis: left beyond every lease after the last round
        self.others = 0  # Redis: other live workers' leases
        self.contended = False
        self.synced = False
        self.epoch = 0  # rounds collected
        self.applied = 0  # rounds answered
        self.last_used = 0.0


@dataclass(slots=True)
class LeaseOp:
    """One lease in one round: add `report` to spent (once per `seq`), lease = max(floor, min(want, left))."""

    lease: CreditLease
    report: int
    seq: int
    floor: int
    want: int
    epoch: int


def take(lease: CreditLease, amount: int, now: float) -> None:
    lease.free -= amount
    lease.inflight += amount
    lease.used += amount
    lease.last_amount = amount
    lease.last_used = now


def settle(lease: CreditLease, reserved: int, cost: int) -> None:
    lease.inflight -= reserved
    lease.unreported += cost
    lease.free += reserved - cost


def verdict(lease: CreditLease, amount: int, registered: int, waits: int) -> int:
    """After a request found too little free lease and asked (at epoch `registered`)."""
    if lease.free >= amount:
        return ADMIT
    if lease.applied <= registered:
        return WAIT  # the round carrying this request's demand has not answered yet
    if lease.avail >= amount or (lease.others > 0 and waits < 3):
        return WAIT  # more is there (or other workers give theirs back next round)
    return REFUSE


def busy(lease: CreditLease) -> bool:
    return bool(lease.free or lease.inflight or lease.unreported or lease.reporting or lease.demand)


def plan(lease: CreditLease, now: float, lease_max: int, next_seq: int) -> LeaseOp | None:
    """This round's op for the lease (None: nothing to say). Releases free credit above target now."""
    if not busy(lease) and lease.synced:
        return None
    if lease.reporting == 0 and lease.unreported:
        lease.reporting, lease.unreported = lease.unreported, 0
        lease.seq = next_seq
    idle = lease.demand == 0 and now - lease.last_used > IDLE_S
    headroom = 0 if idle or lease.contended else int(HEADROOM_ROUNDS * max(lease.predicted, lease.last_amount))
    target = lease.demand + min(headroom, max(lease_max - lease.demand, 0))
    if lease.free > target:
        lease.free = target  # the rest returns to Redis in this round (floor excludes it)
    floor = max(lease.free + lease.inflight, 0)
    lease.epoch += 1
    lease.demand = 0
    return LeaseOp(lease=lease, report=lease.reporting, seq=lease.seq, floor=floor,
                   want=lease.inflight + max(target, 0), epoch=lease.epoch)


def apply(op: LeaseOp, grant: int, avail: int, others: int, contended: bool) -> None:
    lease = op.lease
    lease.reporting = 0
    lease.free += grant - op.floor
    lease.avail = avail
    lease.others = others
    lease.contended = contended
    lease.predicted = 0.5 * lease.predicted + 0.5 * lease.used
    lease.used = 0
    lease.synced = True
    lease.applied = op.epoch


def failed(op: LeaseOp) -> None:
    """The round did not answer: the report is re-sent next round (same seq); waiters wake."""
    op.lease.applied = op.epoch


def lost(op: LeaseOp) -> None:
    """Redis lost its data (no `ready`): this worker's leases are gone there; stop spending them."""
    lease = op.lease
    lease.free = min(lease.free, 0)
    lease.applied = op.epoch
    lease.synced = False
