"""The fake provider as a raw ASGI 3 application: routing, knob resolution, auth and error gates.

Routes (each ``/v1/...`` route is also served under ``/k/<knobs>/v1/...``):

- ``POST /v1/chat/completions`` (:mod:`fake_provider.chat`), ``POST /v1/embeddings``
  (:mod:`fake_provider.embeddings`), ``POST /v1/messages`` (Anthropic, :mod:`fake_provider.messages`),
  ``POST /v1/audio/speech`` and ``POST /v1/audio/transcriptions`` (:mod:`fake_provider.audio`),
  ``GET /v1/models``, ``GET /v1/models/{id}``;
- ``GET /healthz`` -> ``ok``; ``GET /_stats``, ``GET /_requests?last=N``, ``POST /_reset``
  (:mod:`fake_provider.stats`).

Order of checks on a POST: path knobs, JSON body, body knobs (any invalid knob -> 400), ``require_key``
(-> 401), ``reject_after`` (-> 401 once that many POSTs were answered), ``hang=headers`` (wait until the
client leaves), ``status``/``retry_after`` (-> error), then the
endpoint itself. ``GET /v1/models`` only checks ``require_key``. Unknown paths get 404, known paths with
another method 405, in OpenAI's error shape (Anthropic's on ``/v1/messages``).
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs

import orjson

from fake_provider import knobs as knob_rules
from fake_provider.asgi_io import (
    JSON_TYPE,
    TEXT_TYPE,
    ClientGone,
    ClientWatch,
    Headers,
    Receive,
    Scope,
    Send,
    read_body,
    respond,
)
from fake_provider.audio import parse_form, speech, transcription
from fake_provider.bodies import error_body, model_object, models_json
from fake_provider.chat import chat_completion
from fake_provider.content import content_tokens
from fake_provider.embeddings import embeddings
from fake_provider.knobs import KnobError, Knobs
from fake_provider.messages import create_message
from fake_provider.messages import error_body as anthropic_error_body
from fake_provider.messages import invalid as invalid_message
from fake_provider.settings import Settings
from fake_provider.stats import RecordedRequest, Stats, header_dict

POST_ROUTES = ("/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/audio/speech",
               "/v1/audio/transcriptions")
UPLOAD_PATH = "/v1/audio/transcriptions"
ANTHROPIC_PATH = "/v1/messages"
MAX_CACHED_PREFIXES = 256
MAX_MODELS = 1000


def split_knob_prefix(path: str) -> tuple[str, str]:
    """``/k/<spec>/v1/x`` -> (``<spec>``, ``/v1/x``); other paths -> ("", path)."""
    if not path.startswith("/k/"):
        return "", path
    spec, sep, rest = path[3:].partition("/")
    return spec, "/" + rest if sep else "/"


def retry_after_value(seconds: float) -> bytes:
    return (str(int(seconds)) if seconds == int(seconds) else repr(seconds)).encode()


class FakeProvider:
    """One worker's fake provider: its settings, counters and caches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = Stats(settings.ring_size)
        self._seq = itertools.count(1)
        self._prefix_knobs: dict[str, Knobs | KnobError] = {}
        self._answered: dict[str, int] = {}  # POSTs answered per path prefix (the `reject_after` knob)
        self._token_cache: dict[tuple[int, str | None], tuple[str, ...]] = {}
        self._models: dict[str, None] = dict.fromkeys(settings.models)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == "/healthz":
            await respond(send, 200, b"ok", [TEXT_TYPE])
        elif path.startswith("/_"):
            await self._control(scope, send)
        else:
            self.stats.requests += 1
            self.stats.in_flight += 1
            try:
                await self._api(scope, receive, send)
            except ClientGone:
                pass
            finally:
                self.stats.in_flight -= 1

    async def _control(self, scope: Scope, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/_stats" and method == "GET":
            await respond(send, 200, self.stats.counters_json(), [JSON_TYPE])
        elif path == "/_requests" and method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            last = query.get("last", [str(self.settings.ring_size)])[0]
            count = int(last) if last.isdigit() else self.settings.ring_size
            await respond(send, 200, self.stats.last_json(count), [JSON_TYPE])
        elif path == "/_reset" and method == "POST":
            self.stats.reset()
            await respond(send, 200, b'{"reset":true}', [JSON_TYPE])
        else:
            await respond(send, 404, error_body(404, f"unknown control path {method} {path}"), [JSON_TYPE])

    async def _error(self, send: Send, status: int, message: str, headers: Headers | None = None,
                     *, path: str = "") -> None:
        """An error in OpenAI's shape, or Anthropic's on ``/v1/messages``."""
        self.stats.errors += 1
        body = anthropic_error_body(status, message) if path == ANTHROPIC_PATH else error_body(status, message)
        await respond(send, status, body, [JSON_TYPE, *(headers or [])])

    def _path_knobs(self, spec: str) -> Knobs:
        cached = self._prefix_knobs.get(spec)
        if cached is None:
            try:
                cached = knob_rules.merge(self.settings.knobs, knob_rules.parse_pairs(spec), source="the path")
            except KnobError as exc:
                cached = exc
            if len(self._prefix_knobs) >= MAX_CACHED_PREFIXES:
                self._prefix_knobs.clear()
            self._prefix_knobs[spec] = cached
        if isinstance(cached, KnobError):
            raise cached
        return cached

    def _tokens(self, knobs: Knobs) -> tuple[str, ...]:
        key = (knobs.chunks, knobs.text)
        tokens = self._token_cache.get(key)
        if tokens is None:
            if len(self._token_cache) >= MAX_CACHED_PREFIXES:
                self._token_cache.clear()
            tokens = self._token_cache[key] = content_tokens(knobs.chunks, knobs.text)
        return tokens

    def _remember_model(self, model: str) -> None:
        if model not in self._models and len(self._models) < MAX_MODELS:
            self._models[model] = None

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: str = scope["path"]
        method: str = scope["method"]
        raw = await read_body(receive)
        try:
            body: object = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        headers = header_dict(scope["headers"])
        query = scope.get("query_string", b"").decode("latin-1")
        self.stats.record(RecordedRequest(method, raw_path, query, headers, body))

        spec, path = split_knob_prefix(raw_path)
        if path == UPLOAD_PATH and method == "POST":
            body = parse_form(raw, headers.get("content-type", ""))
            if body is None:
                await self._error(send, 400, "send multipart/form-data with a `file` part and a `model` field")
                return
        try:
            knobs = self._path_knobs(spec) if spec else self.settings.knobs
            if method == "POST" and path in POST_ROUTES:
                knobs = knob_rules.from_body(knobs, body)
        except KnobError as exc:
            await self._error(send, 400, str(exc), path=path)
            return
        if knobs.require_key is not None and not _authorized(headers, knobs.require_key):
            await self._error(send, 401, "Incorrect API key provided: the fake provider requires its key "
                              "as `Authorization: Bearer <key>` or `x-api-key: <key>`.", path=path)
            return
        if knobs.reject_after is not None and method == "POST" and path in POST_ROUTES:
            answered = self._answered.get(spec, 0)
            if answered >= knobs.reject_after:
                await self._error(send, 401, "Incorrect API key provided: the key was revoked "
                                  "(fake knob reject_after).", path=path)
                return
            self._answered[spec] = answered + 1

        if path in POST_ROUTES:
            if method != "POST":
                await self._error(send, 405, f"use POST for {path}")
            else:
                await self._post(path, receive, send, body, knobs)
        elif path == "/v1/models" or path.startswith("/v1/models/"):
            if method != "GET":
                await self._error(send, 405, f"use GET for {path}")
            elif path == "/v1/models":
                await respond(send, 200, models_json(self._models), [JSON_TYPE])
            else:
                await respond(send, 200, orjson.dumps(model_object(path[len("/v1/models/"):])), [JSON_TYPE])
        else:
            await self._error(send, 404, f"Unknown request URL: {method} {raw_path}. The fake provider serves "
                              "/v1/chat/completions, /v1/embeddings, /v1/messages and /v1/models.")

    async def _post(self, path: str, receive: Receive, send: Send, body: object, knobs: Knobs) -> None:
        if knobs.hang == "headers":
            watch = ClientWatch(receive)
            try:
                await watch.forever()
            finally:
                watch.close()
            return
        if knobs.status >= 400 or knobs.retry_after is not None:
            status = knobs.status if knobs.status >= 400 else 429
            extra: Headers = []
            if knobs.retry_after is not None:
                extra.append((b"retry-after", retry_after_value(knobs.retry_after)))
            await self._error(send, status, f"fake provider error: status knob {status}", extra, path=path)
            return
        if not isinstance(body, dict):
            await self._error(send, 400, "the request body must be a JSON object", path=path)
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            await self._error(send, 400, "you must provide a model parameter (a string)", path=path)
            return
        self._remember_model(model)
        seq = next(self._seq)
        if path == "/v1/embeddings":
            problem = await embeddings(receive, send, body, knobs)
        elif path == "/v1/audio/speech":
            problem = await speech(receive, send, body, knobs)
        elif path == UPLOAD_PATH:
            problem = await transcription(receive, send, body, knobs)
        elif path == ANTHROPIC_PATH:
            problem = invalid_message(body)
            if problem is None:
                await create_message(receive, send, body, knobs, self.stats, seq, self._tokens(knobs))
        elif not isinstance(body.get("messages"), list):
            problem = "`messages` is required and must be a list of messages"
        else:
            problem = None
            await chat_completion(receive, send, body, knobs, self.stats, seq, self._tokens(knobs))
        if problem is not None:
            await self._error(send, 400, problem, path=path)


def _authorized(headers: dict[str, str], key: str) -> bool:
    return headers.get("authorization") == f"Bearer {key}" or headers.get("x-api-key") == key


def create_app(settings: Settings) -> FakeProvider:
    return FakeProvider(settings)
