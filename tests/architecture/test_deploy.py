"""deploy/: the compose file and the Kubernetes manifests validate against their schemas (both
shipped by packages, offline), and say what the README promises: the proxy gets only its two
keys, every variable set is a documented setting, secrets are referenced, never written down."""

from __future__ import annotations

import importlib.resources
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from kubernetes_validate.utils import ValidationError, latest_version, validate

from proxy.settings import load_settings as proxy_settings
from wire import secret_keys

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DRAGONFLY_IMAGE = "dragonfly:latest"
# what a proxy must never hold (README "Keys and secrets"): the master secret and what it opens
NOT_FOR_PROXIES = {"DF_SECRET_KEY", "DF_SECRET_KEYS", "DF_ENCRYPTION_KEY", "DF_ENCRYPTION_KEYS", "DF_ADMIN_TOKEN",
                   "DF_DATABASE_URL"}
SECRET_VARS = {"DF_SECRET_KEY", "DF_SECRET_KEYS", "DF_ENCRYPTION_KEY", "DF_ENCRYPTION_KEYS", "DF_KEY_HASH_SECRET",
               "DF_SEAL_KEYS", "DF_ADMIN_TOKEN", "DF_METRICS_TOKEN", "DF_DATABASE_URL", "DF_REDIS_URL"}


def k8s_docs() -> list[dict[str, Any]]:
    return [d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def documented_settings() -> set[str]:
    text = (ROOT / "README.md").read_text() + (ROOT / "control_plane" / "settings.py").read_text()
    return set(re.findall(r"\bDF_[A-Z0-9_]*[A-Z0-9]", text))


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return list(pod.get("containers", []))


def k8s_env(component: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in k8s_docs():
        if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["labels"]["app.kubernetes.io/component"] == component:
            for c in containers(doc):
                out.update({e["name"]: e for e in c.get("env", [])})
    return out


def find(kind: str, name: str) -> dict[str, Any]:
    hits = [d for d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"{kind}/{name}"
    return hits[0]


def test_every_kubernetes_manifest_validates_against_the_api_schema() -> None:
    docs = k8s_docs()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "HorizontalPodAutoscaler",
                                         "PodDisruptionBudget", "Job", "ConfigMap"}
    for doc in docs:
        validate(doc, latest_version(), strict=True)  # raises on any unknown or mistyped field


def test_the_schema_check_refuses_a_misspelled_field() -> None:
    doc = find("Deployment", "dragonfly-proxy")
    broken = {**doc, "spec": {**doc["spec"], "replica": 3}}
    with pytest.raises(ValidationError):
        validate(broken, latest_version(), strict=True)


def test_compose_file_validates_against_the_compose_spec() -> None:
    schema_file = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = orjson.loads(schema_file.read_bytes())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors
    assert list(validator.iter_errors({"services": {"x": {"imag": "typo"}}})), "the schema must refuse a typo"
    services = compose()["services"]
    assert {"proxy", "lb", "control-plane", "migrate", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    assert services["proxy"]["deploy"]["replicas"] >= 2
    assert services["control-plane"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_proxy_holds_only_its_two_keys() -> None:
    for env in (set(compose()["services"]["proxy"]["environment"]), set(k8s_env("proxy"))):
        assert {"DF_KEY_HASH_SECRET", "DF_SEAL_KEYS"} <= env
        assert not env & NOT_FOR_PROXIES, env & NOT_FOR_PROXIES
    # and with exactly those (values as `dragonfly keys proxy-env` prints them) a proxy starts
    keys = secret_keys.proxy_env({"DF_SECRET_KEY": "x" * 43})
    names = set(compose()["services"]["proxy"]["environment"])
    env = {n: keys.get(n, "") for n in names} | {"DF_REDIS_URL": "redis://redis:6379/0"}
    settings = proxy_settings(env)
    assert settings.seal_keys and settings.billing_redis_url


def test_every_variable_set_is_a_documented_setting() -> None:
    documented = documented_settings()
    ours = {name: s for name, s in compose()["services"].items() if s.get("image") == DRAGONFLY_IMAGE}
    assert set(ours) == {"migrate", "control-plane", "proxy"}
    names = {n for s in ours.values() for n in s.get("environment", {})}
    for doc in k8s_docs():
        for c in containers(doc):
            if c["image"] == DRAGONFLY_IMAGE:
                names |= {e["name"] for e in c.get("env", [])}
    undocumented = sorted(n for n in names if n not in documented)
    assert not undocumented, undocumented
    assert "DF_NO_SUCH_SETTING" not in documented


def test_secrets_are_referenced_never_written_down() -> None:
    assert not [d for d in k8s_docs() if d["kind"] == "Secret"]
    for doc in k8s_docs():
        for c in containers(doc):
            for e in c.get("env", []):
                if e["name"] in SECRET_VARS:
                    assert "value" not in e and "secretKeyRef" in e["valueFrom"], e
    for name, service in compose()["services"].items():
        for var, value in (service.get("environment") or {}).items():
            if var in SECRET_VARS or "PASSWORD" in var:
                assert "${" in str(value), f"{name}: {var} is written in the file"


def test_proxies_scale_and_are_ready_on_a_loaded_snapshot() -> None:
    proxy = find("Deployment", "dragonfly-proxy")
    (c,) = containers(proxy)
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"  # 503 until a market snapshot is loaded
    labels = proxy["spec"]["template"]["metadata"]["labels"]
    hpa = find("HorizontalPodAutoscaler", "dragonfly-proxy")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "dragonfly-proxy"}
    pdb = find("PodDisruptionBudget", "dragonfly-proxy")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = find("Service", "dragonfly-proxy")
    assert service["spec"]["selector"].items() <= labels.items()
    assert find("Job", "dragonfly-migrate")["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "dragonfly", "migrate"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_prometheus_scrape_configs_pass_promtool(tmp_path: Path) -> None:
    config = yaml.safe_load(find("ConfigMap", "dragonfly-prometheus")["data"]["prometheus.yml"])
    for job in config["scrape_configs"]:  # Debian's Prometheus is built without Kubernetes discovery:
        assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]  # check the rest of the job
        job["static_configs"] = [{"targets": ["10.0.0.1:8080"]}]
    (tmp_path / "k8s.yml").write_text(yaml.safe_dump(config))
    for path in (DEPLOY / "prometheus.yml", tmp_path / "k8s.yml"):
        done = subprocess.run(["promtool", "check", "config", "--syntax-only", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
