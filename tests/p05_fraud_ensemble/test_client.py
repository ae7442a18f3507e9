"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

import json

from reader_client import run_client


def test_the_client_scores_a_transaction(base_url, transactions, tmp_path):
    path = tmp_path / "transaction.json"
    path.write_text(json.dumps(transactions[0]))
    done = run_client("05-fraud-ensemble", str(path), "--url", base_url)
    assert done.returncode == 0, done.stderr
    first, *votes = done.stdout.splitlines()
    assert first.startswith(("fraud ", "legit ")) and "voted: gbm, logreg, mlp" in first
    assert [line.split()[0] for line in votes] == ["gbm", "logreg", "mlp"]
