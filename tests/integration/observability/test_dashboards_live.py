"""Every panel of every provisioned dashboard, evaluated by a real Prometheus that scraped a loaded
stack, returns data; the alert rules pass `promtool check rules` and load into that Prometheus."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import msgspec

from tests.integration.observability.conftest import RULES, Loaded
from tests.support.billing_stack import until
from tests.support.procs import ROOT
from tests.support.prometheus import ensure_prometheus

DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))


def panels(path: Path) -> list[tuple[str, list[str]]]:
    doc = msgspec.json.decode(path.read_bytes())
    return [(p["title"], [t["expr"] for t in p.get("targets", [])]) for p in doc["panels"]]


def test_the_operator_market_and_seller_dashboards_are_provisioned() -> None:
    assert {p.name for p in DASHBOARDS} >= {"operator.json", "market.json", "seller.json"}
    for path in DASHBOARDS:
        assert panels(path), path


def test_every_panel_query_returns_data_from_a_real_prometheus(loaded: Loaded) -> None:
    variables = {"$seller": loaded.seller_id}
    empty: list[str] = []

    def evaluate() -> list[str]:
        missing: list[str] = []
        for path in DASHBOARDS:
            for title, exprs in panels(path):
                finite = False
                for expr in exprs:
                    for name, value in variables.items():
                        expr = expr.replace(name, value)
                    assert "$" not in expr, f"{path.name} '{title}': unknown variable in {expr}"
                    result = loaded.prom.query(expr)
                    if not result:
                        missing.append(f"{path.name} '{title}': no series for {expr}")
                    finite |= any(math.isfinite(float(r["value"][1])) for r in result)  # type: ignore[index]
                if not finite:
                    missing.append(f"{path.name} '{title}': only NaN")
        empty[:] = missing
        return missing

    until(lambda: not evaluate(), 30)  # rules, rates and the ledger check need a few scrapes
    assert not empty, "\n".join(empty)


def test_the_alert_rules_pass_promtool_and_load(loaded: Loaded) -> None:
    _, promtool = ensure_prometheus()
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60,
                             check=False)
    assert checked.returncode == 0 and "SUCCESS: 6 rules found" in checked.stdout, checked.stdout + checked.stderr
    groups = loaded.prom.http.get("/api/v1/rules").json()["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert {"DragonflySettlementLagHigh", "DragonflySnapshotStale", "DragonflyErrorSpike",
            "DragonflyChargesCapped"} <= set(rules)
    until(lambda: all(r.get("health") == "ok" for g in loaded.prom.http.get("/api/v1/rules").json()["data"]["groups"]
                      for r in g["rules"]), 20)
    assert not re.search(r"_ms\b", RULES.read_text())
