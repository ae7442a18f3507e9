"""The SLO rules and alerts: their logic unit-tested with promtool, their metric names checked by a
real Prometheus scraping the running stack (a rule over a renamed metric returns nothing, silently)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from study.local.image_classification.stack import PROJECT_DIR

from prometheus_tools import check_alertmanager, check_rules, promtool_test, promtool_test_mutated, tool
from study.prometheus_local import LocalPrometheus

from .conftest import prometheus_for

OBSERVABILITY = PROJECT_DIR / "observability"


def test_rules_are_valid():
    done = check_rules(OBSERVABILITY / "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 14 rules found" in done.stdout


def test_promtool_unit_tests_pass():
    done = promtool_test(OBSERVABILITY / "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_catch_a_wrong_threshold(tmp_path: Path):
    """The unit tests can fail: a fast-burn threshold three times too high misses the outage."""
    assert (OBSERVABILITY / "alerts.yml").read_text().count("> 0.072") == 2
    done = promtool_test_mutated(
        OBSERVABILITY / "alerts.yml", OBSERVABILITY / "alerts.test.yml", "> 0.072", "> 0.2", tmp_path
    )
    assert done.returncode != 0
    assert "a full outage pages within ten minutes" in done.stdout + done.stderr


def test_alertmanager_config_is_valid():
    done = check_alertmanager(OBSERVABILITY / "alertmanager.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory) -> Iterator[LocalPrometheus]:
    tool("prometheus")
    server = prometheus_for(stack, tmp_path_factory.mktemp("prometheus"))
    server.start()
    yield server
    server.stop()


def wait_for(predicate, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.5)
    return None


def ratio(prometheus: LocalPrometheus, record: str) -> float | None:
    """The recording rule's value once it is a number (0/0 is NaN until traffic is scraped twice)."""
    samples = prometheus.query(record)
    value = float(samples[0]["value"][1]) if samples else float("nan")
    return None if math.isnan(value) else value


def test_every_rule_evaluates_on_the_running_stack(prometheus, client, cat_jpeg):
    assert wait_for(lambda: len(prometheus.query("up == 1")) == 2), prometheus.query("up")
    # A labelled counter is born at its first increment, and rate() needs a scraped value before the
    # increase: classify once, let Prometheus see the series, then send the traffic to measure.
    assert client.post("/v1/classify", files={"image": ("c.jpg", cat_jpeg, "image/jpeg")}).status_code == 200
    assert wait_for(lambda: prometheus.query('http_requests_total{handler="/v1/classify", status="200"}'))
    time.sleep(1.5)
    for _ in range(3):
        assert client.post("/v1/classify", files={"image": ("c.jpg", cat_jpeg, "image/jpeg")}).status_code == 200
    assert client.post("/v1/classify", files={"image": ("c.txt", b"not an image", "text/plain")}).status_code == 415

    groups = {group["name"]: group for group in prometheus.rule_groups()}
    assert set(groups) == {"image-classification-slo"}
    for group in groups.values():
        for rule in group["rules"]:
            assert rule["health"] == "ok", rule

    # Every recording rule gets a number: each metric and label it names exists on the stack.
    records = [rule["name"] for rule in groups["image-classification-slo"]["rules"] if rule["type"] == "recording"]
    assert len(records) == 8
    for record in records:
        assert wait_for(lambda record=record: ratio(prometheus, record) is not None), (
            f"{record} has no value: a metric or label it uses is missing"
        )
    # The 415 is the client's mistake: no error budget spent.
    assert ratio(prometheus, "image_classification:classify_errors:ratio_rate5m") == 0.0
    assert not [alert for alert in prometheus.alerts() if alert["state"] == "firing"]
