"""The route table: one line per endpoint, used to register handlers and to write OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from blacksheep import Response

from control_plane.http import (
    account_api,
    admin_api,
    auth_api,
    billing_api,
    keys_api,
    listings_api,
    pool_api,
    profiles_api,
)
from control_plane.http.caller import Access
from control_plane.http.context import Call
from control_plane.schemas import accounts as a
from control_plane.schemas import billing as b
from control_plane.schemas import keys as k
from control_plane.schemas import profiles as p
from control_plane.schemas import seller as s
from control_plane.schemas.envelopes import Deleted, ListOf

Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # BlackSheep and OpenAPI both read {name} parameters
    handler: Handler
    access: Access
    summary: str
    tag: str
    body: type | None = None
    response: object = None
    status: int = 200


def api_routes() -> list[Route]:
    r = Route
    return [
        r(
            "POST",
            "/api/auth/signup",
            auth_api.signup,
            "public",
            "Sign up with email and password; sends a verification mail",
            "auth",
            a.SignupRequest,
            a.SignupResponse,
            201,
        ),
        r(
            "POST",
            "/api/auth/verify",
            auth_api.verify,
            "public",
            "Verify the email; unlocks key creation, grants the signup credit",
            "auth",
            a.VerifyRequest,
            a.AccountView,
        ),
        r(
            "POST",
            "/api/auth/login",
            auth_api.login,
            "public",
            "Log in; returns a JWT",
            "auth",
            a.LoginRequest,
            a.LoginResponse,
        ),
        r(
            "GET",
            "/api/account",
            account_api.get_account,
            "account",
            "The caller's account",
            "account",
            None,
            a.AccountView,
        ),
        r(
            "POST",
            "/api/account/trading-terms",
            account_api.accept_trading_terms,
            "jwt",
            "Accept the Trading Terms (needed for market-only routing)",
            "account",
            None,
            a.AccountView,
        ),
        r(
            "POST",
            "/api/admin/accounts",
            admin_api.create_account,
            "admin",
            "Create an account (no mail, no signup credit)",
            "admin",
            a.AdminCreateAccount,
            a.AccountView,
            201,
        ),
        r(
            "GET",
            "/api/admin/accounts/{id}",
            admin_api.get_account,
            "admin",
            "Show an account",
            "admin",
            None,
            a.AccountView,
        ),
        r(
            "PATCH",
            "/api/admin/accounts/{id}",
            admin_api.patch_account,
            "admin",
            "Change plan, rate-limit overrides, status",
            "admin",
            a.AdminPatchAccount,
            a.AccountView,
        ),
        r(
            "POST",
            "/api/admin/accounts/{id}/credit",
            admin_api.credit_account,
            "admin",
            "Credit an account (ledger entry)",
            "admin",
            a.AdminCredit,
            a.LedgerEntryView,
            201,
        ),
        r(
            "POST",
            "/api/keys",
            keys_api.create_key,
            "buyer",
            "Create a buyer key; the raw key is in this response only",
            "buyer keys",
            k.KeyCreate,
            k.KeyCreated,
            201,
        ),
        r("GET", "/api/keys", keys_api.list_keys, "buyer", "List buyer keys", "buyer keys", None, ListOf[k.KeyView]),
        r("GET", "/api/keys/{id}", keys_api.get_key, "buyer", "Show a buyer key", "buyer keys", None, k.KeyView),
        r(
            "PATCH",
            "/api/keys/{id}",
            keys_api.patch_key,
            "buyer",
            "Update a buyer key",
            "buyer keys",
            k.KeyPatch,
            k.KeyView,
        ),
        r("DELETE", "/api/keys/{id}", keys_api.delete_key, "buyer", "Revoke a buyer key", "buyer keys", None, Deleted),
        r(
            "POST",
            "/api/management-keys",
            keys_api.create_mgmt_key,
            "jwt",
            "Create a management key (login token only)",
            "management keys",
            k.MgmtKeyCreate,
            k.MgmtKeyCreated,
            201,
        ),
        r(
            "GET",
            "/api/management-keys",
            keys_api.list_mgmt_keys,
            "jwt",
            "List management keys",
            "management keys",
            None,
            ListOf[k.MgmtKeyView],
        ),
        r(
            "DELETE",
            "/api/management-keys/{id}",
            keys_api.delete_mgmt_key,
            "jwt",
            "Revoke a management key",
            "management keys",
            None,
            Deleted,
        ),
        r(
            "GET",
            "/api/routing/profiles",
            profiles_api.list_profiles,
            "buyer",
            "List routing profiles",
            "routing profiles",
            None,
            ListOf[p.ProfileView],
        ),
        r(
            "POST",
            "/api/routing/profiles",
            profiles_api.create_profile,
            "buyer",
            "Create a routing profile",
            "routing profiles",
            p.ProfileCreate,
            p.ProfileView,
            201,
        ),
        r(
            "PATCH",
            "/api/routing/profiles/{id}",
            profiles_api.patch_profile,
            "buyer",
            "Update a routing profile",
            "routing profiles",
            p.ProfilePatch,
            p.ProfileView,
        ),
        r(
            "GET",
            "/v1/pool/providers",
            pool_api.list_providers,
            "seller",
            "Provider catalog",
            "seller pool",
            None,
            ListOf[s.ProviderView],
        ),
        r(
            "GET",
            "/v1/pool/keys",
            pool_api.list_pool_keys,
            "seller",
            "List pool keys (hints only)",
            "seller pool",
            None,
            ListOf[s.PoolKeyView],
        ),
        r(
            "POST",
            "/v1/pool/keys",
            pool_api.create_pool_key,
            "seller",
            "Add an upstream key (encrypted at rest)",
            "seller pool",
            s.PoolKeyCreate,
            s.PoolKeyView,
            201,
        ),
        r(
            "DELETE",
            "/v1/pool/keys/{id}",
            pool_api.delete_pool_key,
            "seller",
            "Delete a pool key without listings",
            "seller pool",
            None,
            Deleted,
        ),
        r(
            "GET",
            "/v1/market/listings",
            listings_api.list_listings,
            "seller",
            "List listings",
            "listings",
            None,
            ListOf[s.ListingView],
        ),
        r(
            "POST",
            "/v1/market/listings",
            listings_api.create_listing,
            "seller",
            "Create a listing",
            "listings",
            s.ListingCreate,
            s.ListingView,
            201,
        ),
        r(
            "GET",
            "/v1/market/listings/{id}",
            listings_api.get_listing,
            "seller",
            "Show a listing",
            "listings",
            None,
            s.ListingView,
        ),
        r(
            "PATCH",
            "/v1/market/listings/{id}",
            listings_api.patch_listing,
            "seller",
            "Update a listing",
            "listings",
            s.ListingPatch,
            s.ListingView,
        ),
        r(
            "DELETE",
            "/v1/market/listings/{id}",
            listings_api.delete_listing,
            "seller",
            "Delete a listing",
            "listings",
            None,
            Deleted,
        ),
        r("GET", "/v1/generation", billing_api.get_generation, "inference",
          "Trade details of one request (?id=; status pending until settled)", "billing", None, b.GenerationView),
        r("GET", "/api/billing/balance", billing_api.get_balance, "buyer", "Spendable balance", "billing", None,
          b.BalanceView),
        r("GET", "/api/billing/transactions", billing_api.list_transactions, "buyer",
          "Ledger movements of the balance, newest first (?limit=&before=)", "billing", None, b.TransactionPage),
        r("GET", "/api/usage", billing_api.usage_total, "buyer",
          "Usage totals (?start=&end=&key_group=&model=)", "usage", None, b.UsageReport),
        r("GET", "/api/usage/by-key", billing_api.usage_by_key, "buyer", "Usage per key", "usage", None,
          b.UsageReport),
        r("GET", "/api/usage/daily", billing_api.usage_daily, "buyer", "Usage per UTC day", "usage", None,
          b.UsageReport),
    ]
