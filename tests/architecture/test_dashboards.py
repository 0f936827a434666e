"""Dashboards and alert rules only query metrics the proxy or the control plane exports."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
from prometheus_client import CollectorRegistry

from control_plane.metrics import ControlPlaneMetrics
from proxy.metrics import NAMES

ROOT = Path(__file__).resolve().parents[2]
_SUFFIXES = ("_bucket", "_sum", "_count", "_total")


def control_plane_names() -> set[str]:
    metrics = ControlPlaneMetrics(CollectorRegistry())
    names = {"dragonfly_pool_keys_undecryptable"}
    for family in metrics.registry.collect():
        names |= {s.name for s in family.samples} | {family.name}
    return names


def known(name: str, exported: set[str]) -> bool:
    return name in exported or any(name.endswith(s) and name.removesuffix(s) in exported for s in _SUFFIXES)


def test_every_dashboard_and_alert_metric_exists() -> None:
    exported = set(NAMES) | control_plane_names()
    dashboards = list((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert len(dashboards) >= 4
    texts: dict[str, list[str]] = {}
    for path in dashboards:
        doc = msgspec.json.decode(path.read_bytes())
        texts[path.name] = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    texts["alerts.yml"] = [(ROOT / "grafana" / "prometheus" / "alerts.yml").read_text()]
    for name, exprs in texts.items():
        assert exprs, name
        used = {m for e in exprs for m in re.findall(r"\b((?:gateway|dragonfly)_[a-z_]+)\b", e)}
        unknown = {m for m in used if not known(m, exported)}
        assert used and not unknown, f"{name} uses unknown metrics {unknown}"


def test_no_series_name_carries_a_non_base_unit() -> None:
    for name in set(NAMES) | control_plane_names():
        assert not re.search(r"_(ms|milliseconds|minutes|hours|bytes_kb|cents)(_|$)", name), name
