"""control_plane.snapshot.prom_stats: query results -> snapshot figures; settings validation;
wire.metrics_dir: one directory per Granian process group, dead groups' removed."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from control_plane.settings import SettingsError, load_settings
from control_plane.snapshot.prom_stats import _vector, combine, queries
from wire import metrics_dir


def test_figures_are_quantized_per_listing_and_nan_is_dropped() -> None:
    body = orjson.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"listing": "a"}, "value": [0, "0.4123"]}, {"metric": {"listing": "b"}, "value": [0, "NaN"]}]}})
    ttft = _vector(body)
    assert ttft == {"a": 0.4123}
    stats = combine({"ttft": ttft, "tps": {"a": 51.6}, "failures": {"a": 1.0}, "samples": {"a": 4.0, "c": 0.2}})
    assert [(s.listing_id, s.ttft_ms, s.tps, s.error_rate, s.samples) for s in stats] == [("a", 410.0, 52.0, 0.25, 4)]
    with pytest.raises(ValueError, match="bad_data"):
        _vector(orjson.dumps({"status": "error", "errorType": "bad_data"}))
    assert "[10m]" in queries("10m", 0.9)["ttft"] and "histogram_quantile(0.9," in queries("10m", 0.9)["tps"]


def test_the_stats_source_settings() -> None:
    s = load_settings({"DF_SECRET_KEY": "x"})
    assert (s.stats_source, s.prometheus_window, s.prometheus_quantile) == ("redis", "5m", 0.5)
    s = load_settings({"DF_SECRET_KEY": "x", "DF_STATS_SOURCE": "prometheus", "DF_PROMETHEUS_URL": "http://p:9090"})
    assert (s.stats_source, s.prometheus_url) == ("prometheus", "http://p:9090")
    for env, word in [({"DF_STATS_SOURCE": "graphite"}, "DF_STATS_SOURCE"),
                      ({"DF_PROMETHEUS_WINDOW": "5 minutes"}, "duration"), ({"DF_PROMETHEUS_QUANTILE": "1"}, "between")]:
        with pytest.raises(SettingsError, match=word):
            load_settings({"DF_SECRET_KEY": "x", **env})


def test_each_process_group_gets_a_fresh_directory_and_dead_ones_go(tmp_path: Path) -> None:
    dead = tmp_path / "proxy-999999999-1"
    dead.mkdir()
    other_kind = tmp_path / "control-plane-999999999-1"
    other_kind.mkdir()
    env = {"DF_METRICS_DIR": str(tmp_path)}
    path = metrics_dir.prepare("proxy", env)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(path) and path.name.startswith(f"proxy-{os.getppid()}-")
    (path / "counter_1.db").write_bytes(b"x")
    assert metrics_dir.prepare("proxy", env) == path and (path / "counter_1.db").exists()  # a sibling worker
    assert not dead.exists() and other_kind.exists()
