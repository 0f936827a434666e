"""Seller admission endpoints: probes and contracts (README "Admission", "Contracts").

- `POST /v1/market/listings/{id}/probe` runs one probe now (waits for it, up to
  DF_PROBE_TIMEOUT_S + 5 s) and returns the run; `GET .../probe-runs` lists the newest runs.
- `GET /v1/market/listings/{id}/contracts`, `GET /v1/market/contracts/{id}/checks` (the
  contract's check history, newest first), `POST .../reverify` (a probe now, fed to the
  contract), `POST .../unsuspend` (409 unless the contract's latest check passed).
Every read is filtered by the caller's account: another seller's id is a 404.
"""

from __future__ import annotations

import asyncpg
import msgspec
from blacksheep import Response

from control_plane.admission.service import Admission
from control_plane.db import admission as db
from control_plane.errors import Conflict, NotFound, Unavailable
from control_plane.http.context import Call, json_response
from control_plane.schemas.admission import ContractTerms, ContractView, ProbeCheckView, ProbeRunView
from control_plane.schemas.envelopes import ListOf

_NO_LISTING = "no listing with this id on your account; list yours with GET /v1/market/listings"
_NO_CONTRACT = "no contract with this id on your account; list a listing's with GET /v1/market/listings/{id}/contracts"
_RUNS = 50
_checks = msgspec.json.Decoder(list[ProbeCheckView])
_terms = msgspec.json.Decoder(ContractTerms)


def run_view(row: asyncpg.Record) -> ProbeRunView:
    return ProbeRunView(id=row["id"], listing_id=row["listing_id"], contract_id=row["contract_id"],
                        trigger=row["trigger"], started_at=row["started_at"], finished_at=row["finished_at"],
                        outcome=row["outcome"], checks=_checks.decode(row["checks"]), ttft_ms=row["ttft_ms"],
                        tokens_per_s=row["tokens_per_s"])


def contract_view(row: asyncpg.Record) -> ContractView:
    return ContractView(id=row["id"], listing_id=row["listing_id"], state=row["state"],
                        terms=_terms.decode(row["terms"]), strikes=row["strikes"],
                        state_reason=row["state_reason"], created_at=row["created_at"], updated_at=row["updated_at"])


def _admission(call: Call) -> Admission:
    admission = call.services.admission
    if admission is None:
        raise Unavailable("admission probes are not running; retry in a moment")
    return admission


async def _probe(call: Call, listing_id: str, trigger: str) -> Response:
    row = await _admission(call).probe(listing_id, trigger)
    if row is None:
        raise NotFound(_NO_LISTING)
    return json_response(run_view(row))


async def probe_listing(call: Call) -> Response:
    listing_id = call.path_id()
    async with call.services.pool.acquire() as conn:
        if not await db.listing_owned(conn, call.account_id, listing_id):
            raise NotFound(_NO_LISTING)
    return await _probe(call, listing_id, "manual")


async def probe_runs(call: Call) -> Response:
    listing_id = call.path_id()
    async with call.services.pool.acquire() as conn:
        if not await db.listing_owned(conn, call.account_id, listing_id):
            raise NotFound(_NO_LISTING)
        rows = await db.runs_of_listing(conn, call.account_id, listing_id, _RUNS)
    return json_response(ListOf(data=[run_view(r) for r in rows]))


async def listing_contracts(call: Call) -> Response:
    listing_id = call.path_id()
    async with call.services.pool.acquire() as conn:
        if not await db.listing_owned(conn, call.account_id, listing_id):
            raise NotFound(_NO_LISTING)
        rows = await db.contracts_of_listing(conn, call.account_id, listing_id)
    return json_response(ListOf(data=[contract_view(r) for r in rows]))


async def _contract(call: Call) -> asyncpg.Record:
    async with call.services.pool.acquire() as conn:
        row = await db.contract_of(conn, call.account_id, call.path_id())
    if row is None:
        raise NotFound(_NO_CONTRACT)
    return row


async def contract_checks(call: Call) -> Response:
    contract = await _contract(call)
    async with call.services.pool.acquire() as conn:
        rows = await db.runs_of_contract(conn, contract["id"], _RUNS)
    return json_response(ListOf(data=[run_view(r) for r in rows]))


async def reverify(call: Call) -> Response:
    contract = await _contract(call)
    return await _probe(call, contract["listing_id"], "reverify")


async def unsuspend(call: Call) -> Response:
    contract = await _contract(call)
    async with call.services.pool.acquire() as conn, conn.transaction():
        locked = await db.lock_contract(conn, contract["id"])
        assert locked is not None
        if locked["state"] != "suspended":
            raise Conflict(f"the contract is {locked['state']}, not suspended")
        if not await _admission(call).unsuspend(conn, locked):
            raise Conflict("the contract's latest check did not pass; fix the upstream and "
                           "POST /v1/market/contracts/{id}/reverify first")
        row = await db.contract_of(conn, call.account_id, contract["id"])
    assert row is not None
    return json_response(contract_view(row))
