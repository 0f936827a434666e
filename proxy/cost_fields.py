"""Request fields that raise what a seller charges but that no listing prices (pure): refused.

The market prices a request by its prompt and completion units only (`wire.pricing`), so a field
that makes the upstream charge for something else would pass a cost through unmetered. No
listing prices any of these today, so they are refused for every listing with a 400
(`invalid_request_error`) naming the field and the fix, before anything is reserved or billed
(README "Billing": "Refused fields"):

- chat: `service_tier` other than absent, `"auto"` or `"default"` (priority / flex tiers);
- chat: audio output (`modalities` containing `"audio"`, or an `audio` object);
- chat: server-side tools: `web_search_options`; a `tools` entry whose type is not `"function"`
  (e.g. `web_search`, `file_search`, `code_interpreter`);
- chat: a `file` content part referencing an uploaded file (`file.file_id`): its size is unknown;
- messages: `service_tier` other than absent, `"auto"` or `"standard_only"`; `mcp_servers`; `container`;
- messages: server tools (`tools` entries of type `web_search_*`, `web_fetch_*`, `code_execution_*`);
- messages: an `image`/`document` block whose source is an uploaded file (`source.type: "file"`),
  or a document by URL;
- both: an `anthropic-beta` header with a value outside `ALLOWED_BETAS`. It is forwarded to
  Anthropic-format sellers and most betas add billable features (e.g. 1M context at a premium
  rate); refused rather than stripped, so a buyer never silently gets a different behaviour.

Media that stays allowed is bounded instead (`proxy.billing.bounds`): an image (by URL or
inline) adds `IMAGE_TOKENS` to the prompt bound; inline audio and file data are in the body's bytes.
"""

from __future__ import annotations

from proxy.errors import BadRequest
from proxy.validation import ChatRequest, given
from proxy.validation_messages import MessagesRequest

# Betas that change the wire format or lower the cost, never the price of a token
# (`claude-code-20250219` only names the client: Claude Code sends it on every request).
ALLOWED_BETAS = frozenset({
    "claude-code-20250219", "fine-grained-tool-streaming-2025-05-14", "interleaved-thinking-2025-05-14", "token-efficient-tools-2025-02-19",
})
_CHAT_TIERS = frozenset({"auto", "default"})
_MESSAGES_TIERS = frozenset({"auto", "standard_only"})
_SERVER_TOOL_PREFIXES = ("web_search_", "web_fetch_", "code_execution_")


def _refuse(field: str, why: str, fix: str) -> BadRequest:
    return BadRequest(f"'{field}' is not supported by this market: {why}. {fix}")


def check_chat(req: ChatRequest) -> None:
    if req.service_tier is not None and req.service_tier not in _CHAT_TIERS:
        raise _refuse("service_tier", f"'{req.service_tier[:40]}' is billed above the listing's price",
                      "Remove it or send 'auto'.")
    if given(req.audio) or (req.modalities is not None and "audio" in req.modalities):
        field = "audio" if given(req.audio) else "modalities"
        raise _refuse(field, "audio output is billed at audio-token rates no listing prices",
                      "Ask for text only (remove 'audio' and the \"audio\" modality).")
    if given(req.web_search_options):
        raise _refuse("web_search_options", "server-side web search is billed per search, not per token",
                      "Remove it and search on your side (pass results as messages or a function tool).")
    for i, tool in enumerate(req.tools or ()):
        if tool.type != "function":
            raise _refuse(f"tools[{i}].type", f"'{tool.type[:40]}' runs on the seller's side and is billed per "
                          "call", "Send only tools of type 'function'.")
    for i, message in enumerate(req.messages):
        if isinstance(message.content, list):
            for j, part in enumerate(message.content):
                if part.file is not None and part.file.file_id is not None:
                    raise _refuse(f"messages[{i}].content[{j}].file.file_id", "a file referenced by id has a "
                                  "size the market cannot bound", "Send the file inline as 'file_data'.")


def check_messages(req: MessagesRequest) -> None:
    if req.service_tier is not None and req.service_tier not in _MESSAGES_TIERS:
        raise _refuse("service_tier", f"'{req.service_tier[:40]}' is billed above the listing's price",
                      "Remove it or send 'standard_only'.")
    for name in ("mcp_servers", "container"):
        if given(getattr(req, name)):
            raise _refuse(name, "server-side tools are billed per call, not per token", f"Remove '{name}'.")
    for i, tool in enumerate(req.tools or ()):
        if tool.type is not None and tool.type.startswith(_SERVER_TOOL_PREFIXES):
            raise _refuse(f"tools[{i}].type", f"'{tool.type[:40]}' is a server tool billed per call",
                          "Send client tools (with input_schema) only.")
    for i, message in enumerate(req.messages):
        if isinstance(message.content, list):
            for j, block in enumerate(message.content):
                source = block.source
                if source is None:
                    continue
                if source.type == "file" or (block.type == "document" and source.type == "url"):
                    raise _refuse(f"messages[{i}].content[{j}].source.type", f"a {block.type} by "
                                  f"'{source.type}' has a size the market cannot bound",
                                  "Send it inline (source type 'base64' or 'text').")


def check_beta(value: bytes | None) -> None:
    """The `anthropic-beta` request header: only betas that do not raise the price pass."""
    if not value:
        return
    names = [n.strip() for n in value.decode("latin-1").split(",") if n.strip()]
    refused = [n for n in names if n not in ALLOWED_BETAS]
    if refused:
        raise BadRequest(f"Header anthropic-beta is not supported by this market for '{refused[0][:60]}': betas "
                         "can add features billed above the listing's price. Remove the header (allowed: "
                         f"{', '.join(sorted(ALLOWED_BETAS))}).")


def check_costs(view: object, beta: bytes | None) -> None:
    """Refuse a chat or messages request that carries an unpriced cost (400)."""
    if isinstance(view, ChatRequest):
        check_chat(view)
    elif isinstance(view, MessagesRequest):
        check_messages(view)
    check_beta(beta)
