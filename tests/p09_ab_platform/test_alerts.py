"""The experiment alerts: logic unit-tested with promtool (and shown able to fail), and every rule
evaluated by a real Prometheus scraping the running stack: after a rollback the ticket fires."""

from __future__ import annotations

from pathlib import Path

from study.local.ab_platform.stack import OBSERVABILITY

from polling import eventually
from prometheus_tools import check_rules, promtool_test, promtool_test_mutated

from .conftest import ab_test, predict


def test_rules_are_valid():
    done = check_rules(OBSERVABILITY / "rules.yml")
    assert done.returncode == 0 and "SUCCESS: 5 rules found" in done.stdout, done.stdout + done.stderr


def test_promtool_unit_tests_pass():
    done = promtool_test(OBSERVABILITY / "rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_catch_a_broken_rule(tmp_path: Path):
    """A rollback alert that looks at the wrong counter would never fire: the tests notice."""
    done = promtool_test_mutated(
        OBSERVABILITY / "rules.yml",
        OBSERVABILITY / "rules.test.yml",
        "increase(ab_rollbacks_total[10m])",
        "increase(ab_decisions_total[10m])",
        tmp_path,
    )
    assert done.returncode != 0 and "AbCandidateRolledBack" in done.stdout + done.stderr


def test_prometheus_scrapes_the_platform_and_a_rollback_fires_its_alert(stack, client):
    prometheus = stack.prometheus
    names = {rule["name"] for group in prometheus.rule_groups() for rule in group["rules"]}
    assert names >= {"AbCandidateRolledBack", "AbSpoolBacklog"}

    def evaluated() -> bool:  # every rule has run at least once, without an error
        return all(rule["health"] == "ok" for group in prometheus.rule_groups() for rule in group["rules"])

    assert eventually(evaluated, timeout_s=60), prometheus.rule_groups()
    exp = ab_test(client)
    predict(client, "fine", "alert-1", exp["id"])
    # The rollback counter exists at 0 from the experiment's creation; Prometheus must have seen
    # it there, as it would during any real experiment, for increase() to see the step to 1.
    assert eventually(lambda: prometheus.query(f'ab_rollbacks_total{{experiment="{exp["id"]}"}} == 0'), timeout_s=30)
    client.post(
        f"/v1/experiments/{exp['id']}/stage",
        json={"stage": "rolled_back", "reason": "drill"},
        headers={"X-Actor": "test"},
    )

    def firing() -> bool:
        return any(
            a["labels"]["alertname"] == "AbCandidateRolledBack" and a["labels"].get("experiment") == exp["id"]
            for a in prometheus.alerts()
        )

    assert eventually(firing, timeout_s=60), prometheus.alerts()
    weight = prometheus.query(f'ab_arm_weight{{experiment="{exp["id"]}",arm="sentiment_lexicon"}}')
    assert weight and float(weight[0]["value"][1]) == 1.0
