"""What an admission probe concludes from one streamed answer (pure).

Checks, each `{name, passed, detail}` (README "Admission"):

- `auth`: the upstream accepted the seller's key (not 401/403);
- `answers`: the upstream answered 2xx for `upstream_model`;
- `streaming`: an SSE stream with content that ended properly (`[DONE]` / `message_stop`);
- `usage`: the reported usage passes the metering cross-check buyer traffic gets
  (`proxy.billing.meter.bill`: completion within our count's allowance, prompt within the
  prompt allowance) — an over-reporting upstream fails it;
- `model_name`: the model the upstream says answered is the listing's `upstream_model` (or a
  dated variant of it or of its `-latest` alias, or one of the catalog model's `model_names`);
  an upstream that names another model fails it;
- `fingerprint`: the catalog model's expected properties (`expect`) for the fixed probe prompt:
  `prompt_tokens: [lo, hi]`, the prompt tokens a model with that tokenizer reports for it.
  A model with another tokenizer (a cheaper model served instead) reports a count outside.
  Passed, with a note, when the catalog stores no fingerprint for the model.
"""

from __future__ import annotations

import re

import msgspec

from proxy.billing.meter import Metered, Usage
from wire.probe import ProbeCheck

PROBE_PROMPT = ("Admission probe. Reply with a short greeting. Les libellules volent au-dessus de l'étang; "
                "蜻蜓在池塘上飞。 0123456789.")
PROBE_MAX_TOKENS = 16
_DATE = re.compile(r"^(\d{4}|\d{8}|\d{4}-\d{2}-\d{2})$")  # 0324, 20250514, 2025-01-01: a dated release


class _Message(msgspec.Struct):
    model: str | None = None


class _Event(msgspec.Struct):
    model: str | None = None  # OpenAI chunks
    message: _Message | None = None  # Anthropic message_start


_event = msgspec.json.Decoder(_Event)


def reported_model(raw: bytes) -> str | None:
    """The first model name an SSE stream's events carry (OpenAI `model`, Anthropic `message.model`)."""
    for line in raw.splitlines():
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if not data.startswith(b"{"):
            continue
        try:
            event = _event.decode(data)
        except msgspec.MsgspecError:
            continue
        name = event.model or (event.message.model if event.message is not None else None)
        if name:
            return name
    return None


def _bare(name: str) -> str:
    return name.lower().rsplit("/", 1)[-1]


def model_matches(reported: str, upstream_model: str, model_names: tuple[str, ...] = ()) -> bool:
    """`deepseek-chat` matches `deepseek-chat`, `deepseek/deepseek-chat`, `deepseek-chat-2025-01-01`;
    `claude-x-latest` matches `claude-x-20250101`."""
    got = _bare(reported)
    for want in (upstream_model, *model_names):
        w = _bare(want).removesuffix("-latest")  # an alias answered by a dated model
        if got == w or (got.startswith(w + "-") and _DATE.match(got[len(w) + 1:])):
            return True
    return False


def status_checks(status: int, detail: str) -> tuple[ProbeCheck, ...]:
    """The upstream answered an error status: which checks it fails."""
    if status in (401, 403):
        return (ProbeCheck(name="auth", passed=False, detail=f"upstream answered HTTP {status}: {detail}"[:300]),)
    return (ProbeCheck(name="auth", passed=True, detail="key accepted"),
            ProbeCheck(name="answers", passed=False, detail=f"upstream answered HTTP {status}: {detail}"[:300]))


def stream_checks(*, finished: bool, events: int, usage: Usage | None, metered: Metered, model: str | None,
                  upstream_model: str, expect: dict[str, object]) -> tuple[ProbeCheck, ...]:
    out = [ProbeCheck(name="auth", passed=True, detail="key accepted"),
           ProbeCheck(name="answers", passed=True, detail=f"answered for {upstream_model}")]
    streamed = finished and events > 0
    out.append(ProbeCheck(name="streaming", passed=streamed, detail=(
        f"{events} content events, ended properly" if streamed else
        f"{events} content events; the stream {'ended' if finished else 'never ended'} properly")))
    if usage is None:
        out.append(ProbeCheck(name="usage", passed=False, detail="the upstream reported no usage"))
    else:
        out.append(ProbeCheck(name="usage", passed=not metered.mismatch, detail=(
            f"reported prompt {usage.prompt_tokens}, completion {usage.completion_tokens}; "
            f"billable {metered.prompt_tokens} + {metered.completion_tokens}"
            + ("; over-reported against our count" if metered.mismatch else ""))))
    names = expect.get("model_names")
    known = tuple(str(n) for n in names) if isinstance(names, list) else ()
    if model is None:
        out.append(ProbeCheck(name="model_name", passed=True, detail="the upstream named no model"))
    else:
        ok = model_matches(model, upstream_model, known)
        out.append(ProbeCheck(name="model_name", passed=ok, detail=(
            f"upstream reported {model[:80]!r}" + ("" if ok else f", not {upstream_model!r}"))))
    out.append(_fingerprint(usage, expect))
    return tuple(out)


def _fingerprint(usage: Usage | None, expect: dict[str, object]) -> ProbeCheck:
    band = expect.get("prompt_tokens")
    if not (isinstance(band, list) and len(band) == 2 and all(isinstance(x, int) for x in band)):
        return ProbeCheck(name="fingerprint", passed=True, detail="no fingerprint stored for this model")
    lo, hi = band
    if usage is None:
        return ProbeCheck(name="fingerprint", passed=False, detail="no usage reported to compare")
    ok = lo <= usage.prompt_tokens <= hi
    return ProbeCheck(name="fingerprint", passed=ok, detail=(
        f"probe prompt counted {usage.prompt_tokens} tokens; this model's tokenizer gives {lo}-{hi}"))
