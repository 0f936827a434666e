"""Locust scenarios against a running Dragonfly (bounded: run headless with -t).

    source .dragonfly/demo.env
    .venv/bin/pip install -e ".[load]"
    .venv/bin/locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 1m \
        --host http://127.0.0.1:8080 --only-summary

Rows: `chat.json` (whole request), `chat.stream` (time to headers), `TTFT` (time to the
first content event; response_length = content events, so tokens/s can be derived) and
`E2E` (whole stream). Uses FastHttpUser and a 64-byte read size: a larger read size
blocks until that many bytes arrive and hides the real TTFT (see research/ecosystem.md B.5).
"""

from __future__ import annotations

import os
import time

from locust import FastHttpUser, between, task

KEY = os.environ.get("DF_DEMO_KEY", "")
MODEL = os.environ.get("DF_LOAD_MODEL", "deepseek/deepseek-chat")
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 64}


class Buyer(FastHttpUser):
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        if not KEY:
            raise RuntimeError("set DF_DEMO_KEY (source .dragonfly/demo.env)")
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    @task(3)
    def chat_json(self) -> None:
        self.client.post("/v1/chat/completions", json=BODY, headers=self.headers, name="chat.json")

    @task(1)
    def chat_stream(self) -> None:
        started = time.perf_counter()
        first: float | None = None
        events = 0
        with self.client.post("/v1/chat/completions", json={**BODY, "stream": True}, headers=self.headers,
                              stream=True, catch_response=True, name="chat.stream") as resp:
            buffer = b""
            for chunk in resp.iter_content(chunk_size=64):
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    if b'"content":"' in event and b'"content":""' not in event:
                        events += 1
                        if first is None:
                            first = time.perf_counter()
            if first is None:
                resp.failure("no content event")
                return
        fire = self.environment.events.request.fire
        fire(request_type="TTFT", name="chat.stream", response_time=(first - started) * 1000,
             response_length=events, exception=None, context={})
        fire(request_type="E2E", name="chat.stream", response_time=(time.perf_counter() - started) * 1000,
             response_length=events, exception=None, context={})
