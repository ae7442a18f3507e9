"""The SLO rules and their alerts: logic unit-tested with promtool, routing checked with amtool, and
every rule evaluated by a real Prometheus scraping the running stack (a rule over a renamed metric
returns nothing, silently)."""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from study.local.ocr.stack import OBSERVABILITY

from polling import eventually
from prometheus_tools import check_alertmanager, check_rules, promtool_test, promtool_test_mutated, run, tool
from study.alertmanager_local import local_config as alertmanager_config

from .conftest import ocr


def test_rules_are_valid():
    done = check_rules(OBSERVABILITY / "rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 16 rules found" in done.stdout


def test_promtool_unit_tests_pass():
    done = promtool_test(OBSERVABILITY / "rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_catch_a_wrong_threshold(tmp_path: Path):
    """The unit tests can fail: a latency page at 0.9 instead of 0.72 misses the slow rollout."""
    assert (OBSERVABILITY / "rules.yml").read_text().count("> 0.72") == 2
    done = promtool_test_mutated(
        OBSERVABILITY / "rules.yml", OBSERVABILITY / "rules.test.yml", "> 0.72", "> 0.9", tmp_path
    )
    assert done.returncode != 0
    assert "pages over the latency threshold page the on-call" in done.stdout + done.stderr


def test_alertmanager_routing_is_valid_and_pages_go_to_the_pager():
    config_file = OBSERVABILITY / "alertmanager.yml"
    done = check_alertmanager(config_file)
    assert done.returncode == 0, done.stdout + done.stderr
    for labels, receiver in (("severity=page slo=latency", "pager"), ("severity=ticket slo=quality", "tickets")):
        routed = run(tool("amtool"), "config", "routes", "test", f"--config.file={config_file}", *labels.split())
        assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr


def test_the_local_routing_keeps_the_tree_and_sends_every_receiver_to_the_webhook(tmp_path):
    config = alertmanager_config(OBSERVABILITY / "alertmanager.yml", "http://127.0.0.1:9/hook", time_scale=60)
    production = yaml.safe_load((OBSERVABILITY / "alertmanager.yml").read_text())
    assert config["route"]["routes"][0]["matchers"] == production["route"]["routes"][0]["matchers"]
    assert config["inhibit_rules"] == production["inhibit_rules"]
    assert [r["webhook_configs"][0]["url"] for r in config["receivers"]] == [
        "http://127.0.0.1:9/hook?receiver=pager",
        "http://127.0.0.1:9/hook?receiver=tickets",
    ]
    assert config["route"]["group_interval"] == "5000ms"  # 5 minutes / 60
    (tmp_path / "local.yml").write_text(yaml.safe_dump(config))
    done = check_alertmanager(tmp_path / "local.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def value(prometheus, record: str) -> float | None:
    samples = prometheus.query(record)
    number = float(samples[0]["value"][1]) if samples else math.nan
    return None if math.isnan(number) else number


def test_every_rule_evaluates_on_the_running_stack(stack, client, page_photo):
    prometheus = stack.monitoring.prometheus
    assert eventually(lambda: len(prometheus.query("up == 1")) == 2, timeout_s=30), prometheus.query("up")
    for _ in range(3):
        assert ocr(client, page_photo.image).status_code == 200
    groups = {group["name"]: group for group in prometheus.rule_groups()}
    assert set(groups) == {"ocr-slo"}
    rules = groups["ocr-slo"]["rules"]
    assert all(rule["health"] == "ok" for rule in rules), rules
    records = [rule["name"] for rule in rules if rule["type"] == "recording"]
    assert len(records) == 11
    for record in records:
        # Each check reads a page too: a 5-second window (5 minutes / 60) with no traffic is 0/0.
        def has_value(record=record) -> bool:
            assert ocr(client, page_photo.image).status_code == 200
            return value(prometheus, record) is not None

        assert eventually(has_value, timeout_s=30), f"{record} has no value: a metric or label it uses is missing"
    assert value(prometheus, "ocr:line_confidence:mean_rate30m") > 0.85
