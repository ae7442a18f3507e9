"""The pieces on their own: the policy table, model visibility, claims to a principal, the audit
chain's verification, and the limits against a real Redis (the stack's)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from secure_platform.audit import GENESIS, AuditRecord, chain_hash, verify_chain
from secure_platform.limits import Refused, TenantLimits, seconds_to_month_end
from secure_platform.policies import RULES, Forbidden, authorize, visible_model, visible_models
from secure_platform.settings import Limits, Settings
from secure_platform.tokens import InvalidToken, Principal, principal_of


def principal(roles=("inference",), scopes=("inference:invoke",), tenant="acme") -> Principal:
    return Principal("s", tenant, "c", frozenset(roles), frozenset(scopes), "jti", 0)


@pytest.mark.parametrize("action", sorted(RULES))
def test_each_action_needs_its_scope_and_its_role(action):
    rule = RULES[action]
    authorize(principal(roles=[rule.role], scopes=[rule.scope]), action)
    with pytest.raises(Forbidden, match="scope"):
        authorize(principal(roles=[rule.role], scopes=["something-else"]), action)
    with pytest.raises(Forbidden, match="role"):
        authorize(principal(roles=["something-else"], scopes=[rule.scope]), action)


def test_a_tenants_model_is_invisible_to_others():
    models = Settings().models
    assert visible_model(models, "acme", "wine-cultivar") is not None
    assert visible_model(models, "globex", "wine-cultivar") is None
    assert visible_model(models, "globex", "no-such") is None
    assert set(visible_models(models, "initech")) == {"digits"}


@pytest.mark.parametrize(
    "claims",
    [{"sub": "x", "exp": 1}, {"sub": "x", "exp": 1, "tenant": "ACME"}, {"sub": "x", "exp": 1, "tenant": ""},
     {"sub": "x", "exp": 1, "tenant": "acme", "roles": [1]}, {"sub": "x", "exp": 1, "tenant": "acme", "scope": ["a"]}],
)  # fmt: skip
def test_claims_without_a_proper_tenant_roles_or_scope_make_no_principal(claims):
    with pytest.raises(InvalidToken):
        principal_of(claims)


def test_a_principal_takes_the_client_from_client_id_or_azp():
    keycloak_style = principal_of({"sub": "u", "exp": 9, "tenant": "acme", "azp": "console", "scope": "a b"})
    assert keycloak_style.client_id == "console" and keycloak_style.scopes == {"a", "b"}


def chain(n: int) -> list[tuple]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        record = AuditRecord(action="a", decision="allow", status=200, request_id=str(seq), tenant="acme")
        digest = chain_hash(prev, record.body())
        rows.append((seq, "acme", record.body(), prev, digest))
        prev = digest
    return rows


def test_an_intact_chain_verifies_and_names_its_head():
    rows = chain(5)
    verdict = verify_chain(rows)
    assert verdict.intact and verdict.records == 5 and (verdict.head_seq, verdict.head_hash) == (5, rows[-1][4])
    assert verify_chain([]).intact


def test_any_change_to_the_chain_is_a_problem():
    rows = chain(5)
    edited = [*rows[:2], (3, "acme", rows[2][2].replace("allow", "deny"), rows[2][3], rows[2][4]), *rows[3:]]
    assert not verify_chain(edited).intact
    assert not verify_chain(rows[:2] + rows[3:]).intact  # one deleted
    assert not verify_chain([rows[0], rows[2], rows[1], *rows[3:]]).intact  # reordered
    assert not verify_chain([(1, "globex", *rows[0][2:]), *rows[1:]]).intact  # tenant column changed


def test_the_canonical_body_is_sorted_compact_json_without_secrets():
    body = AuditRecord(action="a", decision="deny", status=401, request_id="r", reason="expired").body()
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    assert "token" not in json.loads(body)


def test_seconds_to_month_end():
    assert seconds_to_month_end(datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)) == 1
    assert seconds_to_month_end(datetime(2026, 12, 31, 0, 0, 0, tzinfo=UTC)) == 86400


@pytest.fixture
def limits(stack):
    """TenantLimits on the stack's Redis, under a tenant name of this test's own."""

    def run(coroutine_factory):
        async def go():
            redis = Redis.from_url(stack.redis.url)
            try:
                return await coroutine_factory(TenantLimits(redis, lease_ms=5000))
            finally:
                await redis.aclose()

        return asyncio.run(go())

    return run


# --8<-- [start:bucket-test]
def test_the_bucket_admits_its_burst_then_refuses_with_a_retry_time(limits):
    tenant, plan = f"t-{uuid.uuid4().hex[:8]}", Limits(rate_per_s=0.5, burst=3, concurrent=1, monthly_quota=100)

    async def go(tl: TenantLimits):
        admitted = [await tl.admit(tenant, plan) for _ in range(3)]
        with pytest.raises(Refused) as refused:
            await tl.admit(tenant, plan)
        return admitted, refused.value

    admitted, refused = limits(go)
    assert [a.remaining for a in admitted] == [2, 1, 0]
    assert refused.kind == "rate" and refused.retry_after_s == 2 and refused.limit == 3


# --8<-- [end:bucket-test]


def test_the_monthly_quota_counts_only_admitted_requests(limits):
    tenant, plan = f"t-{uuid.uuid4().hex[:8]}", Limits(rate_per_s=1000, burst=1000, concurrent=1, monthly_quota=2)

    async def go(tl: TenantLimits):
        await tl.admit(tenant, plan)
        await tl.admit(tenant, plan)
        kinds = []
        for _ in range(3):
            with pytest.raises(Refused) as refused:
                await tl.admit(tenant, plan)
            kinds.append(refused.value.kind)
        return kinds

    assert limits(go) == ["quota"] * 3


def test_concurrent_slots_are_shared_by_every_instance_and_freed_after_use(limits):
    tenant, plan = f"t-{uuid.uuid4().hex[:8]}", Limits(rate_per_s=1000, burst=1000, concurrent=2, monthly_quota=100)

    async def go(tl: TenantLimits):
        other_instance = TenantLimits(tl.redis, lease_ms=5000)
        async with tl.slot(tenant, plan), other_instance.slot(tenant, plan):
            with pytest.raises(Refused) as refused:
                async with tl.slot(tenant, plan):
                    pass
        async with tl.slot(tenant, plan):  # both released
            pass
        return refused.value.kind

    assert limits(go) == "concurrency"


def test_a_lease_of_a_crashed_instance_lapses(limits):
    tenant, plan = f"t-{uuid.uuid4().hex[:8]}", Limits(rate_per_s=1000, burst=1000, concurrent=1, monthly_quota=100)

    async def go(tl: TenantLimits):
        short = TenantLimits(tl.redis, lease_ms=200)
        await short._lease(keys=[f"limits:{tenant}:inflight"], args=[1, 200, "never-released"])
        with pytest.raises(Refused):
            async with tl.slot(tenant, plan):
                pass
        await asyncio.sleep(0.3)
        async with tl.slot(tenant, plan):
            return True

    assert limits(go)


def test_revoked_token_ids_are_remembered_until_the_token_expires(limits):
    async def go(tl: TenantLimits):
        jti = uuid.uuid4().hex
        assert not await tl.is_revoked(jti)
        await tl.revoke(jti, expires_at=int(datetime.now(UTC).timestamp()) + 100)
        ttl = await tl.redis.ttl(f"revoked:{jti}")
        return await tl.is_revoked(jti), await tl.is_revoked(""), ttl

    revoked, empty, ttl = limits(go)
    assert revoked and not empty and 100 < ttl <= 161
