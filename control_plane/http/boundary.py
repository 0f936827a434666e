"""The handler boundary: request id, caller, error mapping and one log line per request.

Every response (errors and 404s included) carries `x-request-id`: the client's own when
it is a sane token, else a fresh one. Unexpected exceptions are logged by type and
traceback frames only (exception messages can quote SQL parameters) and answered 500.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable

from blacksheep import Request, Response

from control_plane.errors import ControlPlaneError, error_response, to_response
from control_plane.http.caller import authenticate
from control_plane.http.context import Call, Services
from control_plane.http.routes import Route

log = logging.getLogger("control_plane.http")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
RawHandler = Callable[[Request], Awaitable[Response]]


def request_id(request: Request) -> str:
    given = (request.get_first_header(b"x-request-id") or b"").decode("latin-1")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


def _finish(request: Request, response: Response, rid: str, started: float) -> Response:
    response.add_header(b"x-request-id", rid.encode())
    log.info(
        "%s %s %d %.1fms rid=%s",
        request.method,
        request.url.path.decode("latin-1")[:200],
        response.status,
        (time.perf_counter() - started) * 1000,
        rid,
    )
    return response


def bind(route: Route, services: Callable[[], Services]) -> RawHandler:
    """A BlackSheep-native `(request) -> Response` handler for one route (`services` exists
    once the app has started)."""

    async def handler(request: Request) -> Response:
        started = time.perf_counter()
        rid = request_id(request)
        try:
            live = services()
            principal = await authenticate(live, request, route.access)
            call = Call(
                services=live,
                request=request,
                request_id=rid,
                principal=principal,
                route_values={k: v or "" for k, v in (request.route_values or {}).items()},
            )
            response = await route.handler(call)
        except ControlPlaneError as exc:
            response = to_response(exc)
        except Exception as exc:  # request boundary: never leak a traceback to the client
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s in %s %s rid=%s\n%s", type(exc).__name__, route.method, route.path, rid, frames)
            response = error_response(500, f"internal error; retry, and quote request id {rid} if it persists")
        return _finish(request, response, rid, started)

    return handler


def plain(producer: Callable[[Request], Awaitable[Response]]) -> RawHandler:
    """Wrap a handler that needs no caller (health, OpenAPI, fallback) with the same boundary."""

    async def handler(request: Request) -> Response:
        started = time.perf_counter()
        rid = request_id(request)
        try:
            response = await producer(request)
        except ControlPlaneError as exc:
            response = to_response(exc)
        return _finish(request, response, rid, started)

    return handler


async def not_found(request: Request) -> Response:
    return error_response(
        404, f"no endpoint {request.method} {request.url.path.decode('latin-1')[:200]}; see /api/openapi.json"
    )
