"""Alertmanager as a local process (Debian's ``prometheus-alertmanager``), with a project's compose
routing: the same route tree, grouping and inhibitions, every receiver posting to one local webhook
instead of the pager and ticket integrations, and the timers divided by ``time_scale``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from study.processes import LocalServer, ManagedProcess, free_port, installed
from study.time_scale import scaled_duration

TIMERS = ("group_wait", "group_interval", "repeat_interval")


def local_config(compose_config: Path, webhook_url: str, time_scale: float = 1) -> dict:
    config = yaml.safe_load(compose_config.read_text())
    for receiver in config["receivers"]:
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": f"{webhook_url}?receiver={receiver['name']}", "send_resolved": True}]

    def scale(route: dict) -> None:
        for timer in TIMERS:
            if timer in route:
                route[timer] = scaled_duration(route[timer], time_scale)
        for child in route.get("routes", []):
            scale(child)

    scale(config["route"])
    config.setdefault("global", {})["resolve_timeout"] = scaled_duration("5m", time_scale)
    return config


@dataclass
class LocalAlertmanager(LocalServer):
    data_dir: Path
    compose_config: Path
    webhook_url: str
    time_scale: float = 1
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = installed("prometheus-alertmanager", "prometheus-alertmanager")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.data_dir / "alertmanager.yml"
        config = local_config(self.compose_config, self.webhook_url, self.time_scale)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process = ManagedProcess(
            "alertmanager",
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.path={self.data_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # one instance: no gossip port
            ],
            self.data_dir / "alertmanager.log",
        )
        self.process.start()
        self.process.wait_http_ok(f"{self.url}/-/ready", 30)
