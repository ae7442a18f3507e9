"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

import json

from reader_client import run_client


def credentials(stack, tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text(
        json.dumps({"api": stack.url, "issuer": stack.provider.issuer, "clients": stack.provider.secrets["clients"]})
    )
    return str(path)


def test_the_client_signs_in_predicts_and_reads_the_prediction_back(stack, tmp_path):
    done = run_client("11-secure-platform", "--client", "acme-batch", "--model", "wine-cultivar",
                      "--credentials", credentials(stack, tmp_path))  # fmt: skip
    assert done.returncode == 1 and "422" in done.stdout  # a digit is not a wine: the client says so
    done = run_client("11-secure-platform", "--client", "acme-batch", "--credentials", credentials(stack, tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert json.loads(lines[0])["tenant"] == "acme"
    assert lines[1] == "models: ['digits', 'wine-cultivar']"
    assert lines[2].startswith("200 token;dur=") and '"labels": ["3"]' in lines[2]  # the held-out "3"
    assert lines[3].startswith("stored: ") and '"row_count": 1' in lines[3]


def test_an_admin_client_reads_its_tenants_audit(stack, tmp_path):
    done = run_client("11-secure-platform", "--client", "globex-admin", "--audit",
                      "--credentials", credentials(stack, tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "200" or done.stdout.splitlines()[1].startswith("200 ")
    assert '"tenant": "globex"' in done.stdout and '"tenant": "acme"' not in done.stdout


def test_the_client_without_a_secret_says_what_it_needs(tmp_path):
    done = run_client("11-secure-platform", "--credentials", str(tmp_path / "none.json"))
    assert done.returncode != 0 and "--secret" in done.stderr
