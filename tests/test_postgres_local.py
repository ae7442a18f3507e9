"""The harness's PostgreSQL (used by projects 06 and 11): a real server on a free port whose data
survives a crash (SIGKILL) and a restart on the same port."""

from __future__ import annotations

import os

import pytest

from study.errors import StudyError
from study.postgres_local import LocalPostgres, server_binary


@pytest.fixture
def postgres(tmp_path):
    try:
        server_binary("initdb")
    except StudyError as missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{missing}; under CI every test must run")
    server = LocalPostgres(tmp_path / "postgres")
    server.start()
    yield server
    server.remove()


def test_a_committed_row_survives_a_crash_and_a_restart(postgres):
    postgres.sql(
        "app", "CREATE TABLE decisions (id serial PRIMARY KEY, what text); INSERT INTO decisions (what) VALUES ('kept')"
    )
    postgres.kill()  # SIGKILL: no shutdown checkpoint
    postgres.start()  # crash recovery replays the write-ahead log
    assert postgres.sql("app", "SELECT what FROM decisions") == "kept"
    assert postgres.url.startswith(f"postgresql://app@127.0.0.1:{postgres.port}/")
