"""proxy.metrics: bounded labels (the listing cap), counters from the hot path's dicts, histograms
in seconds, every worker's gauges merged into one scrape (proxy.worker_gauges)."""

from __future__ import annotations

import os
from pathlib import Path

from proxy import worker_gauges
from proxy.metrics import Metrics
from proxy.routing.budget import RetryBudget
from proxy.routing.stats import StatsBook
from proxy.snapshot.index import build_index
from proxy.snapshot.store import SnapshotStore
from wire.snapshot import Account, Listing, Model, Snapshot


def store_with(*ids: str) -> SnapshotStore:
    listings = tuple(Listing(id=i, seller_account_id="s", provider="acme", model="m/a", upstream_model="a",
                             base_url="http://up/v1/", upstream_key="sk-up", ask_input=1, ask_output=1) for i in ids)
    store = SnapshotStore()
    store.swap(build_index(Snapshot(models=(Model(id="m/a", owned_by="m", input_price=5, output_price=5),),
                                    listings=listings, accounts=(Account(id="s"),), version="v1")))
    return store


def lines(m: Metrics, prefix: str) -> list[str]:
    return [x for x in m.render().decode().splitlines() if x.startswith(prefix)]


def test_listings_past_the_cap_share_the_other_label_and_ttft_is_in_seconds() -> None:
    m = Metrics(store_with("a", "b", "c"), max_listings=2)
    book = StatsBook()
    m.attach_routing(book, RetryBudget())
    for lid in ("a", "b", "c", "c"):
        book.record_success(lid, 250.0)
    counts = lines(m, "gateway_ttft_seconds_count")
    assert sorted(x.split('listing="')[1].split('"')[0] for x in counts) == ["a", "b", "other"]
    assert any('listing="other"' in x and x.endswith(" 2.0") for x in counts)
    assert any('listing="a"' in x and 'le="0.3"' in x and x.endswith(" 1.0") for x in lines(m, "gateway_ttft_seconds_bucket"))
    assert any('listing="a"' in x and x.endswith(" 0.25") for x in lines(m, "gateway_listing_ttft_seconds"))
    assert not lines(m, "gateway_listing_ttft_ms")


def test_counters_follow_the_hot_path_dicts_without_double_counting() -> None:
    m = Metrics(store_with("a"))
    m.requests[200] += 3
    m.render()
    m.requests[200] += 2
    assert lines(m, 'gateway_requests_total{status="200"}') == ['gateway_requests_total{status="200"} 5.0']
    m.request_end("a", 2, 1.5)
    m.request_end(None, 0, 0.01)
    assert any('model="m/a"' in x and 'provider="acme"' in x for x in lines(m, "gateway_request_duration_seconds_count"))
    assert any('model="none"' in x for x in lines(m, "gateway_request_duration_seconds_count"))
    assert 'gateway_upstream_attempts_count{model="m/a"} 1.0' in lines(m, "gateway_upstream_attempts_count")


def test_a_scrape_merges_the_gauges_of_every_live_worker(tmp_path: Path) -> None:
    mine = [("gateway_snapshot_age_seconds", "gauge", "age", [f'gateway_snapshot_age_seconds{{worker="{os.getpid()}"}} 1'])]
    other = [("gateway_snapshot_age_seconds", "gauge", "age", ['gateway_snapshot_age_seconds{worker="1"} 2'])]
    (tmp_path / "gauges-1.json").write_bytes(__import__("orjson").dumps(other))  # pid 1 is alive
    (tmp_path / "gauges-999999999.json").write_bytes(b"[]")  # a dead worker's file is dropped
    text = worker_gauges.render(mine, worker_gauges.others(tmp_path))
    assert text.count("# TYPE gateway_snapshot_age_seconds gauge") == 1
    assert sum(x.startswith("gateway_snapshot_age_seconds{") for x in text) == 2
    assert not (tmp_path / "gauges-999999999.json").exists()
