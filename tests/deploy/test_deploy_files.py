"""The deployment files agree with the product: metric names, services, runbooks, settings, and the
static checks of deploy/check (promtool, amtool, nginx -t)."""

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import resolve
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import user_make

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "rules.test.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
COMPOSE = DEPLOY / "docker-compose.prod.yml"
NGINX = DEPLOY / "nginx.conf"
RUNBOOKS = REPO / "docs" / "runbooks.md"

METRIC_NAME = re.compile(r"\b((?:hospital|django)_[a-z0-9_]+)\b")
# Sample names Prometheus' text format gives each metric type (the parser strips counters' _total).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# Alerts about one department must keep its label: the webhook shows them on its dashboard.
DEPARTMENT_METRICS = {
    "hospital_census_now",
    "hospital_nurses_required_now",
    "hospital_nurses_on_duty_now",
    "hospital_compliance_24h",
    "hospital_compliance_7d",
    "hospital_open_alerts",
    "hospital_forecast_census_mae",
    "hospital_forecast_census_mape",
    "hospital_forecast_daily_arrivals_mape",
    "hospital_forecast_daily_arrivals_mape_limit",
    "hospital_forecast_arrivals_coverage",
    "hospital_data_age_seconds",
    "hospital_model_age_seconds",
}


def _alert_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _dashboard_exprs() -> list[str]:
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    exprs.append(value)
                elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                    exprs.append(value["query"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in DASHBOARDS:
        walk(json.loads(path.read_text()))
    return exprs


def _referenced_metrics() -> dict[str, set[str]]:
    """Metric name -> the files that use it (rules, their tests' input series, dashboards)."""
    texts = {RULES.name: [rule["expr"] for rule in _alert_rules()]}
    texts[RULE_TESTS.name] = [
        series["series"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for series in test.get("input_series", [])
    ]
    for path in DASHBOARDS:
        texts[path.name] = _dashboard_exprs()
    used: dict[str, set[str]] = {}
    for source, exprs in texts.items():
        for expr in exprs:
            for name in METRIC_NAME.findall(expr):
                used.setdefault(name, set()).add(source)
    return used


def _exported_sample_names(families) -> set[str]:
    names = set()
    for family in families:
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
        names.update(sample.name for sample in family.samples)
    return names


def test_every_metric_in_the_rules_and_dashboards_is_one_the_product_exports(client, ed):
    from django.core.cache import cache

    from monitoring_app.metrics import ProductCollector

    client.force_login(user_make("ops", role="ops"))
    client.get("/api/v1/health")
    client.get("/api/v1/status")
    cache.get("deploy-test-miss")
    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    exported = _exported_sample_names(text_string_to_metric_families(scrape.content.decode()))
    # Figures that exist only with Redis (queue depth, workers, tasks) are declared all the same.
    exported |= _exported_sample_names(ProductCollector().describe())

    used = _referenced_metrics()
    assert {"hospital_celery_workers", "django_http_requests_latency_seconds_by_view_method_bucket"} <= set(used)
    missing = {name: sorted(files) for name, files in sorted(used.items()) if name not in exported}
    assert not missing, f"used in deploy/ but not exported by the product: {missing}"


def test_every_alert_has_a_severity_annotations_and_a_runbook_section():
    headings = [line.lstrip("#").strip() for line in RUNBOOKS.read_text().splitlines() if line.startswith("#")]
    anchors = {_github_anchor(heading) for heading in headings}
    for rule in _alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), name
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/runbooks.md" and anchor == name.lower(), name
        assert anchor in anchors, f"{name}: docs/runbooks.md has no heading for #{anchor}"


def _github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


# Rules over department figures that are about the whole hospital on purpose (every dashboard shows them).
HOSPITAL_WIDE_ALERTS = {"DataFeedStale"}


def test_department_alerts_keep_the_department_label():
    for rule in _alert_rules():
        expr = rule["expr"]
        if rule["alert"] in HOSPITAL_WIDE_ALERTS:
            continue
        if set(METRIC_NAME.findall(expr)) & DEPARTMENT_METRICS and re.search(r"\b(sum|max|min|avg|count)\b", expr):
            assert re.search(r"\bby \(department\b", expr), f"{rule['alert']} aggregates the department label away"


def test_every_alert_has_promtool_tests_where_it_fires_and_where_it_does_not():
    fires, silent = set(), set()
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in _alert_rules()}
    assert names - fires == set(), "alerts with no test where they fire"
    assert names - silent == set(), "alerts with no test where they stay silent"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_compose_file_wires_every_service_it_names():
    compose = _compose()
    services = compose["services"]
    expected = {"nginx", "web", "ws", "worker", "beat", "migrate", "static", "postgres", "redis"}
    assert expected | {"prometheus", "alertmanager", "grafana", "jaeger"} <= set(services)
    declared_volumes = set(compose.get("volumes", {}))
    declared_secrets = set(compose.get("secrets", {}))
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for secret in service.get("secrets", []):
            assert secret in declared_secrets, f"{name} uses undeclared secret {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared_volumes, f"{name} mounts undeclared volume {source}"
            elif source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is not in deploy/"
    # One beat, ever; every long-running app process waits for the migrations.
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("web", "ws", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["nginx"]["depends_on"]["static"] == {"condition": "service_completed_successfully"}
    assert services["redis"]["command"][1:3] == ["--appendonly", "yes"]


def test_nginx_sends_traffic_only_to_services_that_exist_on_the_ports_they_listen_on():
    services = _compose()["services"]
    config = NGINX.read_text()
    upstreams = re.findall(r"^\s*server ([a-z0-9-]+):(\d+)", config, re.MULTILINE)
    assert {host for host, _ in upstreams} == {"web", "ws"}
    for host, port in upstreams:
        assert host in services
        assert port in services[host]["expose"], f"{host} does not expose {port}"
    assert "8001" in " ".join(services["ws"]["command"]) and "daphne" in " ".join(services["ws"]["command"])


def test_nginx_routes_websockets_and_bodies_as_the_app_expects():
    config = NGINX.read_text()
    assert resolve("/api/v1/health") and "/ws/" in config
    from dashboard.routing import websocket_urlpatterns

    assert all(str(pattern.pattern).startswith("ws/") for pattern in websocket_urlpatterns)
    size = re.search(r"client_max_body_size (\d+)m;", config)
    assert size and int(size.group(1)) * 1024 * 1024 == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in config  # nginx's own 413, in the app's words
    assert "proxy_set_header X-Request-ID" in config and "proxy_set_header X-Real-IP $remote_addr;" in config


def test_prometheus_and_alertmanager_call_services_of_the_stack():
    services = _compose()["services"]
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for job in prometheus["scrape_configs"]:
        for discovery in job.get("dns_sd_configs", []):
            for name in discovery["names"]:
                assert name in services, f"job {job['job_name']} scrapes unknown service {name}"
            if job["job_name"] == "hl7":
                # The listener's own exporter has no token: it is only on the internal network.
                assert all(str(discovery["port"]) not in port for port in services["hl7"]["ports"])
                continue
            assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    alertmanager = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    [webhook] = [hook for receiver in alertmanager["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert webhook["url"] == "http://web:8000/api/v1/alerts/prometheus"
    assert resolve("/api/v1/alerts/prometheus").view_name == "monitoring-api:alerts-prometheus"
    assert webhook["http_config"]["authorization"]["credentials_file"] == "/run/secrets/alertmanager_token"


def test_the_image_copies_every_app_and_pins_the_projects_torch():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+)", dockerfile, re.MULTILINE))
    for source in copied:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"
    local_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (REPO / app.split(".")[0]).is_dir()}
    assert local_apps <= copied, f"apps the image lacks: {local_apps - copied}"
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    [torch] = [pin for pin in pins if pin.startswith("torch==")]
    assert f"--index-url https://download.pytorch.org/whl/cpu {torch}" in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    assert "/api/v1/health" in dockerfile and 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"' in dockerfile


def test_env_example_documents_every_variable_the_settings_and_the_compose_file_read():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (DEPLOY / "env.example").read_text(), re.MULTILINE))
    read = set()
    for path in (REPO / "healthcare" / "settings.py", DEPLOY / "gunicorn.conf.py", REPO / "healthcare" / "tracing.py"):
        text = path.read_text()
        read |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r'_require_secret\("([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]+)"', text))
    read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", COMPOSE.read_text()))
    assert not read - documented, f"not in deploy/env.example: {sorted(read - documented)}"


def test_deploy_check_passes():
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if not ci and shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian: prometheus); CI installs it")
    result = subprocess.run(["bash", str(DEPLOY / "check")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
