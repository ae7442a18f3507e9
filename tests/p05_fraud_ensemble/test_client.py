"""client.py, the code the project's page shows a reader, against the running service, with the
transaction file the README names."""

from __future__ import annotations

from reader_client import run_client
from study.paths import PROJECTS_DIR


def test_the_client_scores_the_readme_s_transaction_as_fraud(base_url):
    done = run_client(
        "05-fraud-ensemble", str(PROJECTS_DIR / "05-fraud-ensemble" / "transaction.json"), "--url", base_url
    )
    assert done.returncode == 0, done.stderr
    first, *votes = done.stdout.splitlines()
    assert first.startswith("fraud ") and "voted: gbm, logreg, mlp" in first  # a fraud of the held-out period
    assert [line.split()[0] for line in votes] == ["gbm", "logreg", "mlp"]
