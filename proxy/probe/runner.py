"""Run one admission probe against a listing's upstream (the proxy half of `wire.probe`).

A probe is a small real chat request (`proxy.probe.checks.PROBE_PROMPT`, at most
`PROBE_MAX_TOKENS` tokens, streamed with usage) built and sent exactly like buyer traffic:
`proxy.exchange.prepare` (URL, headers, translation to the listing's format), the shared
`UpstreamClient` (its timeouts), the billing taps and `proxy.billing.meter.bill` (the
metering cross-check) — but with no buyer, no reservation and no usage event: nothing is
billed, nothing reaches the ledger. Only chat listings are probed; a listing without the
chat capability gets one passing `kind` check saying so (see README "Admission").
"""

from __future__ import annotations

import asyncio
import time

import orjson

from proxy.billing.anthropic_meter import AnthropicTap, normalised_usage
from proxy.billing.bounds import json_bounds
from proxy.billing.meter import bill
from proxy.billing.stream_tap import StreamTap
from proxy.endpoints import CHAT
from proxy.errors import GatewayError, UpstreamError
from proxy.exchange import prepare
from proxy.probe.checks import PROBE_MAX_TOKENS, PROBE_PROMPT, reported_model, status_checks, stream_checks
from proxy.snapshot.index import listing_entry
from proxy.upstream.client import UpstreamClient
from proxy.upstream.relay import upstream_error_message
from proxy.validation import ChatRequest
from wire.probe import ProbeCheck, ProbeRequest, ProbeResult
from wire.snapshot import Listing

_RAW_LIMIT = 64 * 1024  # bytes of the stream kept to read the reported model name


def probe_body(listing: Listing) -> bytes:
    return orjson.dumps({"model": listing.model, "messages": [{"role": "user", "content": PROBE_PROMPT}],
                         "stream": True, "stream_options": {"include_usage": True}, "max_tokens": PROBE_MAX_TOKENS})


async def run_probe(upstream: UpstreamClient, request: ProbeRequest, listing: Listing, timeout_s: float,
                    runner: str) -> ProbeResult:
    """`listing` carries the opened upstream key."""
    if "chat" not in listing.capabilities:
        return ProbeResult(run_id=request.run_id, runner=runner, checks=(ProbeCheck(
            name="kind", passed=True, detail="only chat listings are probed; this one is admitted unprobed"),))
    try:
        async with asyncio.timeout(timeout_s):
            return await _chat_probe(upstream, request, listing, runner)
    except TimeoutError:
        return ProbeResult(run_id=request.run_id, runner=runner, checks=(
            ProbeCheck(name="answers", passed=False, detail=f"no complete answer within {timeout_s:g}s"),))
    except UpstreamError as exc:
        return ProbeResult(run_id=request.run_id, runner=runner, checks=(
            ProbeCheck(name="answers", passed=False, detail=exc.message[:300]),))


async def _chat_probe(upstream: UpstreamClient, request: ProbeRequest, listing: Listing,
                      runner: str) -> ProbeResult:
    body = probe_body(listing)
    view = CHAT.parse(body) if CHAT.parse is not None else None
    assert isinstance(view, ChatRequest)
    exchange = prepare(CHAT, view, body, listing_entry(listing), {})
    bounds = json_bounds(view, len(body), 0, request.family)
    assert bounds is not None
    started = time.perf_counter()
    stream = await upstream.open_stream(exchange.url, exchange.headers, exchange.body, listing.provider)
    try:
        if stream.status >= 300:
            try:
                data = await stream.read_all(4096)
            except GatewayError:
                data = b""
            return ProbeResult(run_id=request.run_id, runner=runner, upstream_status=stream.status,
                               checks=status_checks(stream.status, upstream_error_message(data)))
        tap: StreamTap | AnthropicTap = AnthropicTap() if listing.api_format == "anthropic" else StreamTap(False)
        translator = exchange.translator
        raw = bytearray()
        first = last = 0.0
        while (chunk := await stream.next_chunk()) is not None:
            last = time.perf_counter()
            first = first or last
            tap.observe(chunk, time.monotonic_ns())
            if translator is not None:
                translator.feed(chunk)
            if len(raw) < _RAW_LIMIT:
                raw += chunk
        tap.close()
        if translator is not None:
            translator.close()
    finally:
        await stream.close()
    usage = normalised_usage(translator.usage) if translator is not None else tap.usage
    counted = tap.counted_tokens(request.family)
    metered = bill(usage, bounds.estimate, counted, bounds.prompt_bound, bounds.cap, prompt_limit=bounds.prompt_limit)
    checks = stream_checks(finished=tap.finished, events=tap.events, usage=usage, metered=metered,
                           model=reported_model(bytes(raw)), upstream_model=listing.upstream_model,
                           expect=request.expect)
    ttft = (first - started) * 1000 if first else None
    tps = counted / (last - first) if first and last - first > 0.001 and counted > 1 else None
    return ProbeResult(run_id=request.run_id, checks=checks, ttft_ms=None if ttft is None else round(ttft, 1),
                       tokens_per_s=None if tps is None else round(tps, 1), upstream_status=stream.status,
                       runner=runner)
