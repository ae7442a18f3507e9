"""Project 11's API under generated requests, valid and broken (tests/api_fuzzing.py), sent with a
real token of one tenant and then of the other, while the other tenant's data sits in the same
tables: no answer may ever hold the other tenant's prediction ids, models or clients."""

from __future__ import annotations

import httpx
import pytest

from api_fuzzing import fuzz

from .conftest import bearer, digits

TENANTS = {"acme": "globex", "globex": "acme"}
OWN_MODEL = {"acme": "wine-cultivar", "globex": "tumour-screen"}


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_api_fuzzing_with_a_tenants_token_never_shows_the_other_tenants_data(stack, base_url, tenant):
    other = TENANTS[tenant]
    admin = stack.provider.client_token(f"{other}-admin")
    made = httpx.post(
        f"{base_url}/v1/models/digits/predict", json={"inputs": digits(stack)}, headers=bearer(admin), timeout=30
    )
    assert made.status_code == 200
    secrets = [made.json()["id"], f"{other}-batch", f"{other}-admin", OWN_MODEL[other], f'"tenant":"{other}"']

    def no_other_tenants_data(ctx, response, case) -> bool:
        text = response.text.replace(" ", "")
        # The tenant's own audit log may name the other's model: this tenant's own requests asked for it.
        names = secrets if case.path != "/v1/audit" else [s for s in secrets if s != OWN_MODEL[other]]
        leaked = [s for s in names if s in text]
        assert not leaked, f"{case.method} {case.path} answered with {leaked}"
        return True

    token = stack.provider.client_token(f"{tenant}-admin")
    assert fuzz(base_url, headers=bearer(token), extra_checks=(no_other_tenants_data,)) > 0
