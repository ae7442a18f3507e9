"""Prometheus as a local process (Debian's ``prometheus``), loading a project's own compose config.

The scrape jobs, rule files and alert rules are the ones ``docker compose up`` uses; only the targets
change, from compose service names to the local processes' ports, and the intervals shrink to a
second so that a test sees rules evaluated within seconds. Alerts go to a local Alertmanager when
one is given; with ``time_scale`` the rules run in compressed time (study.time_scale)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from study.errors import StudyError
from study.processes import LocalServer, ManagedProcess, free_port, installed
from study.time_scale import scaled_rules


def local_config(
    compose_config: Path,
    targets: dict[str, str],
    interval: str = "1s",
    alertmanager: str | None = None,
    rule_dir: Path | None = None,
    time_scale: float = 1,
) -> dict:
    """The compose ``prometheus.yml`` with each job's targets replaced by ``targets[job_name]``;
    with ``time_scale`` > 1 the rule files are rewritten, scaled, into ``rule_dir``."""
    config = yaml.safe_load(compose_config.read_text())
    config["global"] = {**config.get("global", {}), "scrape_interval": interval, "evaluation_interval": interval}
    rule_files = [(compose_config.parent / name).resolve() for name in config.get("rule_files", [])]
    if time_scale != 1:
        assert rule_dir is not None, "scaled rules need a folder to be written to"
        for i, source in enumerate(rule_files):
            rule_files[i] = rule_dir / f"scaled-{source.name}"
            rule_files[i].write_text(scaled_rules(source.read_text(), time_scale))
    config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager is None:
        config.pop("alerting", None)  # alerts are read from Prometheus' own API
    else:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@dataclass
class LocalPrometheus(LocalServer):
    data_dir: Path
    compose_config: Path
    targets: dict[str, str]
    alertmanager: str | None = None  # host:port of an Alertmanager to send alerts to
    time_scale: float = 1
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = installed("prometheus", "prometheus")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.data_dir / "prometheus.yml"
        config = local_config(
            self.compose_config,
            self.targets,
            alertmanager=self.alertmanager,
            rule_dir=self.data_dir,
            time_scale=self.time_scale,
        )
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.data_dir / "prometheus.log",
        )
        self.process.start()
        self.process.wait_http_ok(f"{self.url}/-/ready", 30)

    def query(self, promql: str) -> list[dict]:
        """An instant query's result vector."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        if answer["status"] != "success":
            raise StudyError(f"Prometheus refused {promql!r}: {answer.get('error')}")
        return answer["data"]["result"]

    def rule_groups(self) -> list[dict]:
        return httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]

    def alerts(self) -> list[dict]:
        return httpx.get(f"{self.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
