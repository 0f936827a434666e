"""The inference endpoints in the OpenAPI document (served by the proxy, described here).

The proxy forwards `/api/*` to the control plane, so `/api/openapi.json` at the proxy's base URL
is this one document for the whole surface. The control plane cannot import the proxy (layering
contract), so the request and response shapes are written out here: the fields the proxy reads
or guarantees; other OpenAI/Anthropic fields pass through to the upstream unchanged
(`additionalProperties` is left open). `model` takes a catalog id or one of its aliases.
"""

from __future__ import annotations

from typing import Any

_ERR = {"$ref": "#/components/schemas/ErrorBody"}
_S = "#/components/schemas/"
_MODEL = {"type": "string", "minLength": 1, "maxLength": 256,
          "description": "A catalog model id (\"deepseek/deepseek-chat\") or one of its aliases (\"deepseek-chat\")"}
_ROUTING_HEADERS = [
    ("Routing-Strategy", "market-only, or a routing profile strategy: cost-first, balanced, reliability-first, ..."),
    ("X-Session-Id", "Sticky routing: the same listing for the same session while it is healthy"),
    ("X-Max-Price", "Ceiling on the input price the buyer can be charged, USD per million tokens, e.g. 0.30"),
    ("X-Max-TTFT-Ms", "Soft target for time to first token (ranking)"),
    ("X-Min-Throughput-Tps", "Soft target for tokens per second (ranking)"),
    ("X-Hard-Max-TTFT-Ms", "Filter: listings slower to first token are excluded"),
    ("X-Hard-Min-Throughput-Tps", "Filter: listings below this throughput are excluded"),
    ("X-Privacy-Mode", "any | trusted_only"),
    ("X-Provider-Only", "Comma-separated provider slugs to use exclusively"),
    ("X-Provider-Ignore", "Comma-separated provider slugs to avoid"),
    ("X-Provider-Order", "Comma-separated provider slugs to prefer, in order"),
]

SCHEMAS: dict[str, Any] = {
    "ChatMessage": {"type": "object", "required": ["role"], "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}, {"type": "null"}]},
        "name": {"type": "string"}, "tool_call_id": {"type": "string"},
        "tool_calls": {"type": "array", "items": {"type": "object"}}}},
    "ChatCompletionRequest": {"type": "object", "required": ["model", "messages"], "properties": {
        "model": _MODEL,
        "messages": {"type": "array", "minItems": 1, "items": {"$ref": _S + "ChatMessage"}},
        "max_tokens": {"type": "integer", "minimum": 1, "description": "Per choice; none given: the model's "
                       "max_output_tokens is reserved and sent upstream as max_tokens"},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "n": {"type": "integer", "minimum": 1}, "stream": {"type": "boolean"},
        "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "temperature": {"type": "number"}, "top_p": {"type": "number"},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "tools": {"type": "array", "items": {"type": "object"}}, "tool_choice": {},
        "response_format": {"type": "object"}, "user": {"type": "string"}}},
    "Usage": {"type": "object", "properties": {
        "prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"},
        "total_tokens": {"type": "integer"}}},
    "ChatCompletion": {"type": "object", "required": ["id", "object", "choices"], "properties": {
        "id": {"type": "string"}, "object": {"type": "string", "const": "chat.completion"},
        "created": {"type": "integer"},
        "model": {"type": "string", "description": "As the upstream answered (not rewritten)"},
        "choices": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "message": {"$ref": _S + "ChatMessage"},
            "finish_reason": {"type": ["string", "null"]}}}},
        "usage": {"$ref": _S + "Usage"}}},
    "MessagesRequest": {"type": "object", "required": ["model", "messages", "max_tokens"], "properties": {
        "model": _MODEL, "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["role", "content"]}},
        "system": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "stream": {"type": "boolean"}, "temperature": {"type": "number"},
        "stop_sequences": {"type": "array", "items": {"type": "string"}},
        "tools": {"type": "array", "items": {"type": "object"}}}},
    "Message": {"type": "object", "required": ["id", "type", "role", "content"], "properties": {
        "id": {"type": "string"}, "type": {"type": "string", "const": "message"},
        "role": {"type": "string", "const": "assistant"}, "model": {"type": "string"},
        "content": {"type": "array", "items": {"type": "object"}},
        "stop_reason": {"type": ["string", "null"]},
        "usage": {"type": "object", "properties": {"input_tokens": {"type": "integer"},
                                                   "output_tokens": {"type": "integer"}}}}},
    "EmbeddingsRequest": {"type": "object", "required": ["model", "input"], "properties": {
        "model": _MODEL,
        "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {
            "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}}]},
        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
        "dimensions": {"type": "integer", "minimum": 1}}},
    "EmbeddingList": {"type": "object", "required": ["object", "data"], "properties": {
        "object": {"type": "string", "const": "list"}, "model": {"type": "string"},
        "data": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "embedding": {}}}},
        "usage": {"$ref": _S + "Usage"}}},
    "SpeechRequest": {"type": "object", "required": ["model", "input", "voice"], "properties": {
        "model": _MODEL, "input": {"type": "string", "minLength": 1, "maxLength": 4096},
        "voice": {"type": "string"}, "response_format": {"type": "string"}, "speed": {"type": "number"}}},
    "TranscriptionRequest": {"type": "object", "required": ["file", "model"], "properties": {
        "file": {"type": "string", "format": "binary"}, "model": _MODEL, "language": {"type": "string"},
        "prompt": {"type": "string"}, "response_format": {"type": "string"}}},
    "Transcription": {"type": "object", "properties": {"text": {"type": "string"}}},
    "CatalogModel": {"type": "object", "required": ["id", "object", "owned_by"], "properties": {
        "id": {"type": "string"}, "object": {"type": "string", "const": "model"}, "created": {"type": "integer"},
        "owned_by": {"type": "string"},
        "pricing": {"type": "object", "properties": {"input": {"type": "string"}, "output": {"type": "string"},
                                                     "unit": {"type": "string"}}},
        "context_length": {"type": "integer"}, "max_output_tokens": {"type": "integer"},
        "capabilities": {"type": "array", "items": {"type": "string"}},
        "aliases": {"type": "array", "items": {"type": "string"}}}},
    "ModelList": {"type": "object", "required": ["object", "data"], "properties": {
        "object": {"type": "string", "const": "list"},
        "data": {"type": "array", "items": {"$ref": _S + "CatalogModel"}}}},
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "Error", "content": {"application/json": {"schema": _ERR}}} for s in statuses}


def _op(summary: str, body: str | None, ok: dict[str, Any], *, dialect: str = "openai",
        multipart: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary, "tags": ["inference"],
        "security": [{"apiKey": []}] if dialect == "anthropic" else [{"buyerKey": []}],
        "parameters": [{"name": name, "in": "header", "required": False, "description": text,
                        "schema": {"type": "string"}} for name, text in _ROUTING_HEADERS],
        "responses": {"200": {"description": "OK", "content": ok}, **_errors(400, 401, 402, 403, 404, 413, 429,
                                                                             502, 503, 504)},
    }
    if body is not None:
        ctype = "multipart/form-data" if multipart else "application/json"
        op["requestBody"] = {"required": True, "content": {ctype: {"schema": {"$ref": _S + body}}}}
    return op


def _json(name: str, stream: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"application/json": {"schema": {"$ref": _S + name}}}
    if stream:
        out["text/event-stream"] = {"schema": {"type": "string", "description": "Server-sent events"}}
    return out


def inference_paths() -> dict[str, Any]:
    audio = {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}}
    models = {"summary": "The catalog: models with reference prices, caps, capabilities and aliases",
              "tags": ["inference"], "security": [],
              "responses": {"200": {"description": "OK", "content": _json("ModelList")}}}
    return {
        "/v1/chat/completions": {"post": _op("Chat completion (OpenAI format), JSON or streamed",
                                             "ChatCompletionRequest", _json("ChatCompletion", True))},
        "/v1/messages": {"post": _op("Message (Anthropic format), JSON or streamed", "MessagesRequest",
                                     _json("Message", True), dialect="anthropic")},
        "/v1/embeddings": {"post": _op("Embeddings", "EmbeddingsRequest", _json("EmbeddingList"))},
        "/v1/audio/speech": {"post": _op("Text to speech (audio streamed back)", "SpeechRequest", audio)},
        "/v1/audio/transcriptions": {"post": _op("Transcription of an uploaded audio file",
                                                 "TranscriptionRequest", _json("Transcription"), multipart=True)},
        "/v1/models": {"get": models},
    }


SECURITY_SCHEMES: dict[str, Any] = {
    "buyerKey": {"type": "http", "scheme": "bearer", "description": "sk-df-… buyer API key"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
               "description": "sk-df-… buyer API key (Anthropic format; Authorization: Bearer works too)"},
}
