"""The OpenAPI 3.1 document, generated from the route table and its msgspec types."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from control_plane.http.openapi_inference import SCHEMAS, SECURITY_SCHEMES, inference_paths
from control_plane.http.routes import Route
from control_plane.schemas.envelopes import ErrorBody, Health
from wire.errors import error_type

_REF = "#/components/schemas/{name}"
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "admin": [{"adminToken": []}],
    "jwt": [{"loginToken": []}],
    "account": [{"loginToken": []}, {"managementKey": []}],
    "buyer": [{"loginToken": []}, {"managementKey": []}],
    "seller": [{"loginToken": []}, {"managementKey": []}],
    "inference": [{"loginToken": []}, {"managementKey": []}],
}
_ERRORS = {
    "public": (400,),
    "admin": (400, 401, 403, 404),
    "jwt": (400, 401, 403, 404),
    "account": (400, 401, 403, 404),
    "buyer": (400, 401, 403, 404),
    "seller": (400, 401, 403, 404, 409),
    "inference": (400, 401, 403, 404),
}


def _operation_id(route: Route) -> str:
    path = route.path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return f"{route.method.lower()}_{path}"


def openapi_document(routes: list[Route], *, version: str = "0.1.0") -> bytes:
    types: list[Any] = [ErrorBody, Health]
    for route in routes:
        if route.body is not None:
            types.append(route.body)
        if route.response is not None:
            types.append(route.response)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": _operation_id(route),
            "security": _SECURITY[route.access],
            "responses": {
                str(route.status): {
                    "description": "OK",
                    "content": {"application/json": {"schema": by_type[route.response]}},
                }
            },
        }
        for status in sorted({*_ERRORS[route.access], *route.errors}):
            op["responses"][str(status)] = {
                "description": error_type(status),
                "content": {"application/json": {"schema": by_type[ErrorBody]}},
            }
        params = re.findall(r"\{(\w+)\}", route.path)
        if params:
            op["parameters"] = [
                {"name": name, "in": "path", "required": True,
                 "schema": {"type": "string", "format": "uuid"} if name == "id" else {"type": "string"}}
                for name in params
            ]
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": by_type[route.body]}}}
        paths.setdefault(route.path, {})[route.method.lower()] = op
    for path in ("/healthz", "/readyz"):
        paths[path] = {
            "get": {
                "summary": "Liveness" if path == "/healthz" else "Readiness (snapshot published)",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": by_type[Health]}}}
                },
            }
        }
    paths.update(inference_paths())
    components.update(SCHEMAS)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Dragonfly",
            "version": version,
            "description": "Inference (chat, messages, embeddings, audio, models) and the control plane: "
            "accounts, buyer keys, routing profiles, billing and top-ups, seller pool keys, listings, earnings, "
            "and the operator catalog. One document for the whole surface, at /api/openapi.json on the "
            "proxy's base URL.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "loginToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "managementKey": {"type": "http", "scheme": "bearer", "description": "sk-df-… management key"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "DF_ADMIN_TOKEN"},
                **SECURITY_SCHEMES,
            },
        },
    }
    return msgspec.json.encode(doc)
