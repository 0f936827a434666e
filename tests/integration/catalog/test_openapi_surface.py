"""One OpenAPI document for the whole surface, served at /api/openapi.json through the proxy's
base URL and valid under a real OpenAPI validator (openapi-spec-validator)."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.support.billing_stack import BillingStack

INFERENCE = {("/v1/chat/completions", "post"), ("/v1/messages", "post"), ("/v1/embeddings", "post"),
             ("/v1/audio/speech", "post"), ("/v1/audio/transcriptions", "post"), ("/v1/models", "get"),
             ("/v1/generation", "get")}
CATALOG = {("/api/admin/models", "post"), ("/api/admin/models/{owner}/{name}", "patch"),
           ("/api/admin/providers", "post"), ("/api/admin/fee-profiles", "post"),
           ("/api/admin/listings/{id}/fee-profile", "put"), ("/api/admin/accounts/{id}/fee-profile", "put"),
           ("/api/admin/accounts", "get"), ("/api/admin/payments", "get"), ("/api/admin/listings", "get"),
           ("/api/admin/accounts/{id}/debit", "post"), ("/api/admin/accounts/{id}/refund", "post")}


def test_the_document_covers_inference_and_the_catalog_and_validates(stack: BillingStack) -> None:
    r = stack.http.get("/api/openapi.json")  # the proxy's base URL
    assert r.status_code == 200, r.text
    doc = r.json()
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema and its rules
    ops = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert INFERENCE <= ops and CATALOG <= ops, (INFERENCE | CATALOG) - ops
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    assert {"application/json", "text/event-stream"} <= set(chat["responses"]["200"]["content"])
    assert "X-Provider-Only" in {p["name"] for p in chat["parameters"]}
    assert "402" in chat["responses"]
    assert "aliases" in doc["components"]["schemas"]["CatalogModel"]["properties"]
    assert {"aliases", "max_output_tokens"} <= set(doc["components"]["schemas"]["CreateModel"]["properties"])
    assert doc["paths"]["/v1/messages"]["post"]["security"] == [{"apiKey": []}]
