"""/metrics on both processes: every Granian worker's series in every scrape, histograms in base
units by model/provider/listing, clean for `promtool check metrics`."""

from __future__ import annotations

import subprocess

import httpx

from tests.integration.observability.conftest import CHAT, Loaded, chat
from tests.support.billing_stack import until
from tests.support.prometheus import ensure_prometheus


def scrape(url: str) -> str:
    r = httpx.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return r.text


def total(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + "{", name + " ")))


def test_a_scrape_of_either_worker_counts_every_workers_requests(loaded: Loaded) -> None:
    url = loaded.stack.proxy.url
    before = total(scrape(url), "gateway_requests_total")
    with httpx.Client(base_url=url, timeout=20) as http:  # new connections: Granian spreads them over workers
        for _ in range(12):
            assert chat(http, loaded.key).status_code == 200
            http.close()
            http = httpx.Client(base_url=url, timeout=20)
    until(lambda: total(scrape(url), "gateway_requests_total") == before + 12, 10)
    for _ in range(6):  # whichever worker answers, it shows both workers' counts and gauges
        text = scrape(url)
        assert total(text, "gateway_requests_total") == before + 12
        assert text.count("gateway_snapshot_info{") == 2, text


def test_histograms_carry_model_provider_and_listing_in_seconds(loaded: Loaded) -> None:
    text = scrape(loaded.stack.proxy.url)
    assert "gateway_listing_ttft_ms" not in text and "_ms{" not in text
    for name in ("gateway_ttft_seconds_bucket", "gateway_tokens_per_second_bucket", "gateway_inter_token_seconds_bucket"):
        assert any(line.startswith(name + "{") and f'model="{CHAT}"' in line and 'provider="fake"' in line
                   and f'listing="{loaded.slow}"' in line for line in text.splitlines()), name
    assert any(line.startswith("gateway_request_duration_seconds_bucket{") and 'le="300.0"' in line
               for line in text.splitlines())
    assert total(text, "gateway_upstream_attempts_count") > 0
    assert total(text, "gateway_ratelimit_rejections_total") > 0
    assert 'gateway_billing_rejections_total{reason="no_credit"}' in text
    for name in ("gateway_billing_capped_total", "gateway_billing_usage_mismatches_total",
                 "gateway_billing_usage_estimated_total", "gateway_listing_ejections_total"):
        assert total(text, name) >= 1, name


def test_the_control_plane_reports_settlement_snapshots_ledger_and_routes(loaded: Loaded) -> None:
    url = loaded.stack.control.url
    until(lambda: total(scrape(url), "dragonfly_settlement_events_total") > 0, 20)
    until(lambda: "dragonfly_ledger_check_ok 1.0" in scrape(url), 20)
    text = scrape(url)
    assert total(text, "dragonfly_settlement_lag_seconds_count") > 0
    assert total(text, "dragonfly_settlement_charged_usd_total") > 0
    assert total(text, "dragonfly_snapshot_build_seconds_count") > 0
    assert 'dragonfly_market_listings_by_state{state="active"} 4.0' in text
    assert any(line.startswith("dragonfly_http_request_duration_seconds_count{") and 'route="/v1/market/listings/{id}"'
               in line for line in text.splitlines()), [x for x in text.splitlines() if "http_request" in x][:5]


def test_promtool_finds_nothing_to_object_to_on_either_process(loaded: Loaded) -> None:
    _, promtool = ensure_prometheus()
    for url in (loaded.stack.proxy.url, loaded.stack.control.url):
        body = scrape(url)
        checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True,
                                 timeout=60, check=False)
        assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), (url, checked.stdout,
                                                                                          checked.stderr)
