"""Locust scenarios against a running Dragonfly (bounded: run headless with -t).

    make up                                   # writes .dragonfly/loadtest.env (enterprise plan key)
    export $(cat .dragonfly/loadtest.env)
    .venv/bin/locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 1m \\
        --host http://127.0.0.1:8080 --only-summary

The key is `DF_LOAD_KEY` (else `DF_DEMO_KEY`, whose Pro plan allows 300 requests a minute: most
requests would be answered 429). Buyers mix (weights in brackets):

- `chat.json` [4]: OpenAI chat, whole JSON answer; the model by its alias (`DF_LOAD_MODEL_ALIAS`);
- `chat.stream` [3]: OpenAI chat streamed;
- `messages.json` [1] and `messages.stream` [1]: Anthropic format (`x-api-key`), translated when the
  listing speaks OpenAI;
- `chat.routed` [1]: routing headers (`X-Provider-Only`, `X-Max-Price`, `X-Session-Id`).

Custom metrics (rows of the stats table; their "response time" column holds the metric):
`TTFT <name>` time to the first content event in ms, `E2E <name>` the whole stream in ms and
`TPS <name>` content events per second after the first one (tokens/s: the fake provider sends one
token per event). A stream that ends without a content event, or without its final event, fails.
Uses FastHttpUser and a 64-byte read size: a larger read size blocks until that many bytes arrive
and hides the real TTFT.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from locust import FastHttpUser, between, task

KEY = os.environ.get("DF_LOAD_KEY") or os.environ.get("DF_DEMO_KEY", "")
MODEL = os.environ.get("DF_LOAD_MODEL", "deepseek/deepseek-chat")
ALIAS = os.environ.get("DF_LOAD_MODEL_ALIAS", "deepseek-chat")
PROVIDER = os.environ.get("DF_LOAD_PROVIDER", "fake")
PROMPT = [{"role": "user", "content": "Say hello in five words."}]
CHAT = {"model": MODEL, "messages": PROMPT, "max_tokens": 64}
MESSAGES = {"model": MODEL, "messages": PROMPT, "max_tokens": 64}


class Buyer(FastHttpUser):
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        if not KEY:
            raise RuntimeError("set DF_LOAD_KEY (export $(cat .dragonfly/loadtest.env))")
        self.openai = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        self.anthropic = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
        self.session = secrets.token_hex(6)

    @task(4)
    def chat_json(self) -> None:
        self.client.post("/v1/chat/completions", json={**CHAT, "model": ALIAS}, headers=self.openai,
                         name="chat.json")

    @task(3)
    def chat_stream(self) -> None:
        self._stream("/v1/chat/completions", {**CHAT, "stream": True}, self.openai, "chat.stream",
                     b'"content":"', b"data: [DONE]")

    @task(1)
    def messages_json(self) -> None:
        self.client.post("/v1/messages", json=MESSAGES, headers=self.anthropic, name="messages.json")

    @task(1)
    def messages_stream(self) -> None:
        self._stream("/v1/messages", {**MESSAGES, "stream": True}, self.anthropic, "messages.stream",
                     b'"text_delta"', b"message_stop")

    @task(1)
    def chat_routed(self) -> None:
        headers = {**self.openai, "X-Provider-Only": PROVIDER, "X-Max-Price": "100", "X-Session-Id": self.session}
        self.client.post("/v1/chat/completions", json=CHAT, headers=headers, name="chat.routed")

    def _stream(self, path: str, body: dict[str, Any], headers: dict[str, str], name: str, content: bytes,
                end: bytes) -> None:
        started = time.perf_counter()
        first: float | None = None
        events = 0
        ended = False
        with self.client.post(path, json=body, headers=headers, stream=True, catch_response=True,
                              name=name) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            buffer = b""
            for chunk in resp.iter_content(chunk_size=64, decode_content=False):
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    ended = ended or end in event
                    if content in event and b'"content":""' not in event:
                        events += 1
                        if first is None:
                            first = time.perf_counter()
            if first is None or not ended:
                resp.failure("no content event" if first is None else "stream ended without its final event")
                return
        done = time.perf_counter()
        fire = self.environment.events.request.fire
        fire(request_type="TTFT", name=name, response_time=(first - started) * 1000, response_length=events,
             exception=None, context={})
        fire(request_type="E2E", name=name, response_time=(done - started) * 1000, response_length=events,
             exception=None, context={})
        if events > 1 and done > first:
            fire(request_type="TPS", name=name, response_time=(events - 1) / (done - first), response_length=events,
                 exception=None, context={})
