"""Dashboards only chart metrics the proxy exports."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from proxy.metrics import NAMES

ROOT = Path(__file__).resolve().parents[2]


def test_every_dashboard_metric_exists() -> None:
    dashboards = list((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        doc = msgspec.json.decode(path.read_bytes())
        exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
        assert exprs, path
        used = {m for e in exprs for m in re.findall(r"\b(gateway_[a-z_]+)\b", e)}
        assert used and used <= set(NAMES), f"{path.name} uses unknown metrics {used - set(NAMES)}"
