"""Request bodies between the dialects (pure): Anthropic Messages <-> OpenAI Chat Completions.

Both functions take the caller's decoded JSON body and the seller's upstream model name and
return the body to send upstream. Mapping (Anthropic's own compatibility table):

    system (string or text blocks)        <-> leading system/developer messages (joined with "\\n")
    text / image blocks                   <-> text / image_url parts (base64 <-> data: URLs)
    assistant tool_use blocks             <-> assistant tool_calls (input object <-> arguments JSON)
    user tool_result blocks               <-> tool messages (consecutive ones merge into one user turn)
    stop_sequences / tools / tool_choice  <-> stop / functions / tool_choice (any <-> required)
    disable_parallel_tool_use             <-> parallel_tool_calls: false
    max_tokens (required)                 <-  max_tokens | max_completion_tokens | DEFAULT_MAX_TOKENS

Dropped on the way, because the other side has no such field: `top_k`, `thinking`,
`service_tier` (to OpenAI); `n` must be 1, penalties, `logprobs`, `response_format`, `seed`
(to Anthropic). `temperature` above 1 is capped at 1 for Anthropic (its range is 0-1).
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.errors import BadRequest

JsonObj = dict[str, Any]
DEFAULT_MAX_TOKENS = 4096


def _text_of(content: Any) -> str:
    """The text of a string or of a list of blocks/parts (non-text parts skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


# --- Anthropic Messages -> OpenAI Chat Completions -------------------------------------------


def _image_part(block: JsonObj) -> JsonObj:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = str(source.get("url", ""))
    else:
        raise BadRequest("Image blocks need a 'base64' or 'url' source for this model's seller.")
    return {"type": "image_url", "image_url": {"url": url}}


def _user_turn(content: Any) -> list[JsonObj]:
    """One Anthropic user turn -> tool messages (first) and one user message with the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[JsonObj] = []
    parts: list[JsonObj] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            text = _text_of(block.get("content"))
            if block.get("is_error"):
                text = f"Error: {text}" if text else "Error"
            tools.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text})
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        elif kind == "document":
            raise BadRequest("Document blocks are not supported by this model's seller (OpenAI format).")
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        tools.append({"role": "user", "content": "".join(p["text"] for p in parts) if only_text else parts})
    return tools


def _assistant_turn(content: Any) -> JsonObj:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
    calls = [
        {"id": b.get("id", ""), "type": "function",
         "function": {"name": b.get("name", ""), "arguments": orjson.dumps(b.get("input", {})).decode()}}
        for b in content if b.get("type") == "tool_use"
    ]
    out: JsonObj = {"role": "assistant", "content": text or None}
    if calls:
        out["tool_calls"] = calls
    return out


def _tool_choice_to_openai(choice: JsonObj, out: JsonObj) -> None:
    kind = choice.get("type")
    if kind == "any":
        out["tool_choice"] = "required"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
    elif kind in ("auto", "none"):
        out["tool_choice"] = kind
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False


def messages_to_chat(doc: JsonObj, upstream_model: str) -> JsonObj:
    """An Anthropic Messages request as an OpenAI Chat Completions request."""
    messages: list[JsonObj] = []
    system = doc.get("system")
    if system:
        messages.append({"role": "system", "content": system if isinstance(system, str) else "\n".join(
            b.get("text", "") for b in system if isinstance(b, dict))})
    for message in doc.get("messages", []):
        if message.get("role") == "assistant":
            messages.append(_assistant_turn(message.get("content")))
        else:
            messages.extend(_user_turn(message.get("content")))
    out: JsonObj = {"model": upstream_model, "messages": messages, "max_tokens": doc["max_tokens"]}
    for field in ("temperature", "top_p"):
        if doc.get(field) is not None:
            out[field] = doc[field]
    if doc.get("stop_sequences"):
        out["stop"] = doc["stop_sequences"]
    tools = doc.get("tools")
    if tools:
        out["tools"] = []
        for tool in tools:
            if "input_schema" not in tool:
                raise BadRequest(f"Tool '{tool.get('name', '')}' is a server tool ({tool.get('type')}); "
                                 "this model's seller only runs client tools with an input_schema.")
            function = {"name": tool["name"], "parameters": tool["input_schema"]}
            if tool.get("description"):
                function["description"] = tool["description"]
            out["tools"].append({"type": "function", "function": function})
    if isinstance(doc.get("tool_choice"), dict):
        _tool_choice_to_openai(doc["tool_choice"], out)
    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    if doc.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


# --- OpenAI Chat Completions -> Anthropic Messages -------------------------------------------


def _anthropic_image(part: JsonObj) -> JsonObj:
    url = str((part.get("image_url") or {}).get("url", ""))
    if url.startswith("data:"):
        header, _, data = url[5:].partition(",")
        media_type = header.split(";", 1)[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[JsonObj]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[JsonObj] = []
    for part in content:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_anthropic_image(part))
        else:
            raise BadRequest(f"Content parts of type '{part.get('type')}' are not supported by this model's "
                             "seller (Anthropic format); send text or image_url parts.")
    return blocks


def _tool_use(call: JsonObj, i: int) -> JsonObj:
    function = call.get("function") or {}
    try:
        arguments = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        raise BadRequest(f"'tool_calls[{i}].function.arguments' is not valid JSON; "
                         "this model's seller needs a JSON object.") from None
    return {"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""), "input": arguments}


def _turns(messages: list[JsonObj]) -> tuple[list[str], list[JsonObj]]:
    system: list[str] = []
    turns: list[JsonObj] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
            continue
        if role == "assistant":
            blocks = _blocks(message.get("content"))
            blocks += [_tool_use(c, i) for i, c in enumerate(message.get("tool_calls") or [])]
            turn_role = "assistant"
        elif role == "tool":
            blocks = [{"type": "tool_result", "tool_use_id": message.get("tool_call_id", ""),
                       "content": _text_of(message.get("content"))}]
            turn_role = "user"
        else:
            blocks, turn_role = _blocks(message.get("content")), "user"
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)  # Anthropic turns alternate: merge same-role runs
        else:
            turns.append({"role": turn_role, "content": blocks})
    return system, turns


def _tool_choice_to_anthropic(choice: Any) -> JsonObj | None:
    if choice == "required":
        return {"type": "any"}
    if choice in ("auto", "none"):
        return {"type": choice}
    if isinstance(choice, dict):
        return {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    return None


def chat_to_messages(doc: JsonObj, upstream_model: str) -> JsonObj:
    """An OpenAI Chat Completions request as an Anthropic Messages request."""
    if (doc.get("n") or 1) != 1:
        raise BadRequest("'n' must be 1 for this model's seller (Anthropic format).")
    system, turns = _turns(doc.get("messages", []))
    max_tokens = doc.get("max_completion_tokens") or doc.get("max_tokens") or DEFAULT_MAX_TOKENS
    out: JsonObj = {"model": upstream_model, "max_tokens": max_tokens, "messages": turns}
    if system:
        out["system"] = "\n".join(system)
    if doc.get("temperature") is not None:
        out["temperature"] = min(float(doc["temperature"]), 1.0)
    if doc.get("top_p") is not None:
        out["top_p"] = doc["top_p"]
    stop = doc.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = doc.get("tools")
    if tools:
        out["tools"] = []
        for tool in tools:
            function = tool.get("function") or {}
            entry: JsonObj = {"name": function.get("name", ""),
                              "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
            if function.get("description"):
                entry["description"] = function["description"]
            out["tools"].append(entry)
    choice = _tool_choice_to_anthropic(doc.get("tool_choice"))
    if doc.get("parallel_tool_calls") is False and tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None and tools:
        out["tool_choice"] = choice
    if isinstance(doc.get("user"), str):
        out["metadata"] = {"user_id": doc["user"]}
    if doc.get("stream"):
        out["stream"] = True
    return out
