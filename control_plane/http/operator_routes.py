"""Routes of the operator catalog and operator API (DF_ADMIN_TOKEN), appended to `routes.api_routes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from control_plane.http import catalog_api, operator_api
from control_plane.schemas import accounts as a
from control_plane.schemas import catalog as c
from control_plane.schemas.envelopes import ListOf

if TYPE_CHECKING:
    from control_plane.http.routes import Route


def operator_routes(r: type[Route]) -> list[Route]:
    return [
        r("GET", "/api/admin/models", catalog_api.list_models, "admin",
          "The model catalog, inactive models included", "catalog", None, ListOf[c.ModelView]),
        r("POST", "/api/admin/models", catalog_api.create_model, "admin",
          "Add a model (reference prices, caps, capabilities, aliases)", "catalog", c.CreateModel, c.ModelView,
          201, (409,)),
        r("GET", "/api/admin/models/{owner}/{name}", catalog_api.get_model, "admin", "One catalog model",
          "catalog", None, c.ModelView),
        r("PATCH", "/api/admin/models/{owner}/{name}", catalog_api.patch_model, "admin",
          "Change a model; `aliases` replaces the list; `active: false` deactivates it", "catalog",
          c.PatchModel, c.ModelView),
        r("POST", "/api/admin/providers", catalog_api.create_provider, "admin", "Add a provider", "catalog",
          c.CreateProvider, c.AdminProviderView, 201, (409,)),
        # GET /api/admin/providers and PATCH /api/admin/providers/{slug} (official hosts, trust): trust_api
        r("GET", "/api/admin/fee-profiles", catalog_api.list_fee_profiles, "admin", "Fee profiles", "catalog",
          None, ListOf[c.FeeProfileView]),
        r("POST", "/api/admin/fee-profiles", catalog_api.create_fee_profile, "admin",
          "Create a fee profile (buyer and seller fee in basis points)", "catalog", c.CreateFeeProfile,
          c.FeeProfileView, 201, (409,)),
        r("PUT", "/api/admin/listings/{id}/fee-profile", operator_api.assign_listing_fee_profile, "admin",
          "Put a listing on a fee profile", "catalog", c.AssignFeeProfile, c.AssignFeeProfile),
        r("PUT", "/api/admin/accounts/{id}/fee-profile", operator_api.assign_account_fee_profile, "admin",
          "Put a seller account on a fee profile (its listings on `default` trade under it)", "catalog",
          c.AssignFeeProfile, c.AccountFeeProfileView),
        r("GET", "/api/admin/accounts", operator_api.search_accounts, "admin",
          "Search accounts (?email= substring, &status=, &plan=, &limit=, &offset=)", "admin", None, c.AccountPage),
        r("GET", "/api/admin/payments", operator_api.list_payments, "admin",
          "Top-up payments (?status=pending|expired|confirmed, &account_id=, &limit=, &offset=)", "admin", None,
          c.PaymentPage),
        r("GET", "/api/admin/listings", operator_api.list_listings, "admin",
          "Listings across sellers (?model=, &account_id=, &status=, &limit=, &offset=)", "admin", None,
          c.ListingPage),
        r("POST", "/api/admin/accounts/{id}/debit", operator_api.debit_account, "admin",
          "Debit a buyer balance with a reason (ledger journal admin_debit)", "admin", c.Adjustment,
          a.LedgerEntryView, 201, (409,)),
        r("POST", "/api/admin/accounts/{id}/refund", operator_api.refund_account, "admin",
          "Refund to a buyer balance from platform revenue, with a reason (journal admin_refund)", "admin",
          c.Adjustment, a.LedgerEntryView, 201),
    ]
