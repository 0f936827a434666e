"""The operator catalog API (DF_ADMIN_TOKEN): models with aliases, providers, fee profiles.

Providers are created here; listing them and changing their official hosts and trust is
`trust_api` (issue 13).

Rules, stated once (README "Catalog and operator API"):
- a model id is `owner/name`; `owned_by` names an existing provider; prices are decimal USD
  strings per million `price_unit`s; `max_output_tokens` (1 .. context_length, or null) is the
  per-choice completion cap a chat request without a cap is reserved and sent upstream with;
- aliases are unique across the catalog and never equal a model id: a clash is a 400 naming the
  model that holds the name; PATCH `aliases` replaces the whole list;
- a model is never deleted (generations and listings name it): `active: false` takes it out of
  the snapshot (its listings stop routing, new listings for it are refused);
- `probe_expect` (PATCH replaces it whole) is the admission probe's substitution fingerprint:
  `prompt_tokens: [lo, hi]` (1 <= lo <= hi <= MAX_PROBE_TOKENS) and up to 20 `model_names`;
  `{}` turns the fingerprint off; the next probe or reverify of every listing of the model uses it;
- every change commits at once and reaches the proxies with the next snapshot (NOTIFY-driven).
"""

from __future__ import annotations

import re

import asyncpg
import msgspec
from blacksheep import Response

from control_plane.db import catalog_admin as db
from control_plane.errors import BadRequest, Conflict, NotFound
from control_plane.http.context import Call, json_response
from control_plane.schemas.catalog import (
    AdminProviderView,
    CreateFeeProfile,
    CreateModel,
    CreateProvider,
    FeeProfileView,
    ModelView,
    PatchModel,
    ProbeExpect,
)
from control_plane.schemas.envelopes import ListOf
from control_plane.validation import check_name, price_micros
from wire.money import micros_to_usd
from wire.snapshot import PRICE_UNITS

_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}/[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_CAPABILITY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_FEE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FORMATS = ("openai", "anthropic")
MAX_ALIASES = 20
MAX_CONTEXT = 100_000_000
MAX_PROBE_TOKENS = 100_000
_expect = msgspec.json.Decoder(ProbeExpect)


def model_view(row: asyncpg.Record) -> ModelView:
    return ModelView(id=row["id"], owned_by=row["owned_by"], input_price=micros_to_usd(row["input_price"]),
                     output_price=micros_to_usd(row["output_price"]), price_unit=row["price_unit"],
                     context_length=row["context_length"], max_output_tokens=row["max_output_tokens"],
                     capabilities=list(row["capabilities"]), aliases=list(row["aliases"]), active=row["active"],
                     probe_expect=_stored_expect(row["probe_expect"]))


def _stored_expect(text: str | None) -> ProbeExpect:
    try:
        return _expect.decode(text or "{}")
    except msgspec.ValidationError:
        return ProbeExpect()  # a hand-edited fingerprint the API would refuse: shown as none


def _probe_expect(value: ProbeExpect) -> str:
    band = value.prompt_tokens
    if band is not None and not (len(band) == 2 and 1 <= band[0] <= band[1] <= MAX_PROBE_TOKENS):
        raise BadRequest(f"probe_expect.prompt_tokens: [lo, hi] with 1 <= lo <= hi <= {MAX_PROBE_TOKENS:,}, or null")
    if len(value.model_names) > MAX_ALIASES or any(not _ALIAS.match(n) for n in value.model_names):
        raise BadRequest(f"probe_expect.model_names: at most {MAX_ALIASES} model names "
                         "(letters, digits, . _ : / -; at most 128 characters)")
    return msgspec.json.encode(value).decode()


def provider_view(row: asyncpg.Record) -> AdminProviderView:
    return AdminProviderView(slug=row["slug"], name=row["name"], api_format=row["api_format"],
                             default_base_url=row["default_base_url"], official_hosts=list(row["official_hosts"]),
                             trusted=row["trusted"])


def _capabilities(values: list[str]) -> list[str]:
    if not values or len(values) > 16 or any(not _CAPABILITY.match(v) for v in values):
        raise BadRequest("capabilities: 1 to 16 lowercase names such as \"chat\", \"embeddings\", \"tts\", \"asr\"")
    return sorted(set(values))


def _caps(context_length: int, max_output: int | None) -> None:
    if not 1 <= context_length <= MAX_CONTEXT:
        raise BadRequest(f"context_length: must be an integer from 1 to {MAX_CONTEXT:,}")
    if max_output is not None and not 1 <= max_output <= context_length:
        raise BadRequest(f"max_output_tokens: must be from 1 to the context length ({context_length:,}), or null")


def _unit(value: str) -> str:
    if value not in PRICE_UNITS:
        raise BadRequest(f"price_unit: use one of {', '.join(PRICE_UNITS)}")
    return value


async def _check_aliases(conn: asyncpg.Connection, model_id: str, aliases: list[str]) -> list[str]:
    if len(aliases) > MAX_ALIASES:
        raise BadRequest(f"aliases: at most {MAX_ALIASES}")
    for alias in aliases:
        if not _ALIAS.match(alias):
            raise BadRequest(f"aliases: {alias[:80]!r} is not a model name (letters, digits, . _ : / -; "
                             "at most 128 characters)")
        if alias == model_id:
            raise BadRequest(f"aliases: {alias!r} is the model's own id")
    taken = {name: owner for name, owner in (await db.alias_owners(conn, aliases)).items() if owner != model_id}
    if taken:
        name, owner = sorted(taken.items())[0]
        what = "is a model id" if name == owner else f"is already an alias of {owner}"
        raise BadRequest(f"aliases: {name!r} {what}; aliases are unique across the catalog")
    return sorted(set(aliases))


async def _check_owner(conn: asyncpg.Connection, slug: str) -> str:
    if await db.provider(conn, slug) is None:
        raise BadRequest(f"owned_by: no provider {slug[:40]!r}; create it with POST /api/admin/providers")
    return slug


async def list_models(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.models(conn)
    return json_response(ListOf(data=[model_view(r) for r in rows]))


async def create_model(call: Call) -> Response:
    body = await call.body(CreateModel)
    if not _MODEL_ID.match(body.id):
        raise BadRequest("id: use owner/name, e.g. \"acme/acme-large\" (lowercase owner; letters, digits, . _ : -)")
    _caps(body.context_length, body.max_output_tokens)
    values: dict[str, object] = {
        "id": body.id, "input_price": price_micros(body.input_price, "input_price"),
        "output_price": price_micros(body.output_price, "output_price"), "price_unit": _unit(body.price_unit),
        "context_length": body.context_length, "max_output_tokens": body.max_output_tokens,
        "capabilities": _capabilities(body.capabilities), "active": body.active,
    }
    async with call.services.pool.acquire() as conn, conn.transaction():
        values["owned_by"] = await _check_owner(conn, body.owned_by)
        aliases = await _check_aliases(conn, body.id, body.aliases)
        if not await db.insert_model(conn, values):
            raise Conflict(f"id: model {body.id!r} already exists; change it with PATCH")
        await db.set_aliases(conn, body.id, aliases)
        row = await db.model(conn, body.id)
    assert row is not None
    return json_response(model_view(row), 201)


def _model_id(call: Call) -> str:
    return f"{call.route_values.get('owner', '')}/{call.route_values.get('name', '')}"


async def get_model(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.model(conn, _model_id(call))
    if row is None:
        raise NotFound("no model with this id")
    return json_response(model_view(row))


async def patch_model(call: Call) -> Response:
    body = await call.body(PatchModel)
    model_id = _model_id(call)
    changes: dict[str, object] = {}
    for name in ("input_price", "output_price"):
        value = getattr(body, name)
        if value is not msgspec.UNSET:
            changes[name] = price_micros(value, name)
    if body.price_unit is not msgspec.UNSET:
        changes["price_unit"] = _unit(body.price_unit)
    if body.capabilities is not msgspec.UNSET:
        changes["capabilities"] = _capabilities(body.capabilities)
    if body.active is not msgspec.UNSET:
        changes["active"] = body.active
    if body.probe_expect is not msgspec.UNSET:
        changes["probe_expect"] = _probe_expect(body.probe_expect)
    async with call.services.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT context_length, max_output_tokens FROM models WHERE id = $1 FOR UPDATE",
                                  model_id)
        if row is None:
            raise NotFound("no model with this id")
        context = row["context_length"] if body.context_length is msgspec.UNSET else body.context_length
        max_out = row["max_output_tokens"] if body.max_output_tokens is msgspec.UNSET else body.max_output_tokens
        _caps(context, max_out)
        changes["context_length"], changes["max_output_tokens"] = context, max_out
        if body.owned_by is not msgspec.UNSET:
            changes["owned_by"] = await _check_owner(conn, body.owned_by)
        if body.aliases is not msgspec.UNSET:
            await db.set_aliases(conn, model_id, await _check_aliases(conn, model_id, body.aliases))
        await db.update_model(conn, model_id, changes)
        updated = await db.model(conn, model_id)
    assert updated is not None
    return json_response(model_view(updated))


def _hosts(values: list[str]) -> list[str]:
    if len(values) > 20:
        raise BadRequest("official_hosts: at most 20 hosts")
    out = []
    for value in values:
        host = value.strip().lower()
        if not _HOST.match(host):
            raise BadRequest(f"official_hosts: {value[:80]!r} is not a host name such as api.deepseek.com")
        out.append(host)
    return sorted(set(out))


def _format(value: str) -> str:
    if value not in _FORMATS:
        raise BadRequest("api_format: use openai or anthropic")
    return value


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and (not re.match(r"^https?://[^\s/]+", value) or len(value) > 500):
        raise BadRequest("default_base_url: an http(s) URL such as https://api.example.com/v1, or empty")
    return value


async def create_provider(call: Call) -> Response:
    body = await call.body(CreateProvider)
    if not _SLUG.match(body.slug):
        raise BadRequest("slug: lowercase letters, digits, _ and -, at most 32 characters")
    values: dict[str, object] = {
        "slug": body.slug, "name": check_name(body.name, "name", required=True), "api_format": _format(body.api_format),
        "default_base_url": _base_url(body.default_base_url), "official_hosts": _hosts(body.official_hosts),
        "trusted": body.trusted,
    }
    async with call.services.pool.acquire() as conn, conn.transaction():
        if not await db.insert_provider(conn, values):
            raise Conflict(f"slug: provider {body.slug!r} already exists; change it with PATCH")
        row = await db.provider(conn, body.slug)
    assert row is not None
    return json_response(provider_view(row), 201)


async def list_fee_profiles(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.fee_profiles(conn)
    return json_response(ListOf(data=[FeeProfileView(id=r["id"], buyer_fee_bps=r["buyer_fee_bps"],
                                                     seller_fee_bps=r["seller_fee_bps"]) for r in rows]))


async def create_fee_profile(call: Call) -> Response:
    body = await call.body(CreateFeeProfile)
    if not _FEE_ID.match(body.id):
        raise BadRequest("id: lowercase letters, digits, _ and -, at most 64 characters")
    for name, value in (("buyer_fee_bps", body.buyer_fee_bps), ("seller_fee_bps", body.seller_fee_bps)):
        if not 0 <= value <= 10_000:
            raise BadRequest(f"{name}: basis points from 0 to 10000 (100 = 1 %)")
    async with call.services.pool.acquire() as conn:
        if not await db.insert_fee_profile(conn, body.id, body.buyer_fee_bps, body.seller_fee_bps):
            raise Conflict(f"id: fee profile {body.id!r} already exists (fee profiles are immutable: create another)")
    return json_response(FeeProfileView(id=body.id, buyer_fee_bps=body.buyer_fee_bps,
                                        seller_fee_bps=body.seller_fee_bps), 201)
