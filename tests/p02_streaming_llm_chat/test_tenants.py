"""Several tenants sharing one chat service: API keys, data scoped per tenant, a share of the
generation slots per tenant, and a token quota counted in Redis.

A second API process is started on the session's Redis and llama.cpp server with three tenants
configured; the session's own service keeps running open (one tenant, 'public')."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
import redis
from study.local.streaming_llm_chat.bench import FIRST_MESSAGE
from study.local.streaming_llm_chat.stack import Stack

from problem_details import assert_problem
from reader_client import run_js_client
from streaming_llm_chat.services.tenants import PUBLIC, TenantBusy, TenantDirectory, TenantSlots, Unauthenticated
from streaming_llm_chat.settings import TenantConfig
from study.metrics_page import by_label

KEYS = {"acme": "acme-test-key-1", "globex": "globex-test-key-2", "initech": "initech-test-key-3"}


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --8<-- [start:tenants-env]
TENANTS = [  # the keys' hashes only; the keys themselves go to the tenants
    {"name": "acme", "key_sha256": sha256(KEYS["acme"]), "max_streams": 1},
    {"name": "globex", "key_sha256": sha256(KEYS["globex"]), "max_streams": 2, "tokens_per_window": 40},
    {"name": "initech", "key_sha256": sha256(KEYS["initech"]), "max_streams": 2},
]
TENANT_ENV = {"STREAMING_LLM_CHAT_TENANTS": json.dumps(TENANTS), "STREAMING_LLM_CHAT_TENANT_QUOTA_WINDOW_S": "3600"}
# --8<-- [end:tenants-env]


# Units: no server needed.


def test_an_open_service_has_one_tenant_and_a_configured_one_needs_a_known_key():
    assert TenantDirectory([]).authenticate(None) is PUBLIC
    directory = TenantDirectory([TenantConfig(**t) for t in TENANTS])
    assert directory.authenticate(KEYS["globex"]).name == "globex"
    for bad in (None, "", "acme", KEYS["acme"] + " ", sha256(KEYS["acme"])):
        with pytest.raises(Unauthenticated):
            directory.authenticate(bad)


def test_a_tenant_holds_at_most_its_share_and_gets_it_back():
    slots, acme = TenantSlots(), TenantConfig(**TENANTS[0])

    async def scenario():
        async with slots.slot(acme):
            with pytest.raises(TenantBusy):
                async with slots.slot(acme):
                    pass
            async with slots.slot(TenantConfig(**TENANTS[2])):  # another tenant is not affected
                pass
        async with slots.slot(acme):  # released, also after the refusal
            pass
        with pytest.raises(ZeroDivisionError):
            async with slots.slot(acme):
                _ = 1 / 0
        return slots.held["acme"]

    assert asyncio.run(scenario()) == 0


# With the real service.


def beside(open_stack: Stack, run_dir) -> Iterator[Stack]:
    """The same code, configured with tenants, on the open service's Redis and LLM server."""
    stack = Stack(open_stack.redis, open_stack.llm, run_dir, service_env=TENANT_ENV)
    stack.start_service()
    yield stack
    stack.stop_service()


@pytest.fixture(scope="module")
def tenant_service(stack, tmp_path_factory) -> Iterator[Stack]:
    yield from beside(stack, tmp_path_factory.mktemp("chat-tenants"))


@pytest.fixture(scope="module")
def tenant_service_on_vllm(vllm_chat, tmp_path_factory) -> Iterator[Stack]:
    yield from beside(vllm_chat, tmp_path_factory.mktemp("chat-tenants-vllm"))


def as_tenant(stack: Stack, tenant: str | None, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key or KEYS[tenant]}"} if (tenant or key) else {}
    return httpx.Client(base_url=stack.url, headers=headers, timeout=120)


def say(client: httpx.Client, conversation: str, content: str = "Hello!", max_tokens: int = 16) -> httpx.Response:
    return client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": content, "stream": False, "max_tokens": max_tokens},
    )


def tenant_counter(stack: Stack, name: str, tenant: str, by: str) -> dict[str, float]:
    return by_label(f"{stack.url}/metrics", name, by, tenant=tenant)


def test_no_key_or_an_unknown_key_is_401_and_health_needs_none(tenant_service):
    for tenant, key in ((None, None), (None, "not-a-key")):
        with as_tenant(tenant_service, tenant, key) as client:
            for response in (say(client, "c1"), client.get("/v1/conversations/c1")):
                assert_problem(response, 401, "unauthenticated")
                assert response.headers["WWW-Authenticate"] == "Bearer"
    assert httpx.get(f"{tenant_service.url}/health/ready").status_code == 200


# --8<-- [start:isolation-test]
def test_tenants_cannot_see_or_touch_each_others_conversations(tenant_service):
    with as_tenant(tenant_service, "acme") as acme, as_tenant(tenant_service, "initech") as initech:
        assert say(acme, "support", "My order is late.").status_code == 200
        assert_problem(initech.get("/v1/conversations/support"), 404, "not-found")
        assert_problem(initech.delete("/v1/conversations/support"), 404, "not-found")

        assert say(initech, "support", "Where is my invoice?").status_code == 200  # the same id, its own
        mine = [m["content"] for m in initech.get("/v1/conversations/support").json()["messages"]]
        theirs = [m["content"] for m in acme.get("/v1/conversations/support").json()["messages"]]
        assert mine[0] == "Where is my invoice?" and theirs[0] == "My order is late."
        assert len(mine) == len(theirs) == 2


# --8<-- [end:isolation-test]


# --8<-- [start:share-test]
def test_a_tenant_at_its_share_is_refused_while_another_tenant_is_served(tenant_service):
    with as_tenant(tenant_service, "acme") as acme, as_tenant(tenant_service, "initech") as initech:
        body = {"content": "Tell me a long story about a lighthouse.", "max_tokens": 64}
        with acme.stream("POST", "/v1/conversations/story/messages", json=body) as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: token"
            # acme's one slot is taken: its next message is refused at once, whatever conversation
            refused = say(acme, "another")
            assert_problem(refused, 429, "tenant-busy")
            assert refused.headers["Retry-After"] == "2"
            # initech is not affected: it is answered (after acme's answer, on this one-at-a-time server)
            assert say(initech, "meanwhile").status_code == 200
            assert any(line == "event: done" for line in lines)  # acme's stream finished normally
    assert tenant_counter(tenant_service, "streaming_llm_chat_tenant_rejected_requests_total", "acme", by="reason") == {
        "tenant-busy": 1.0
    }
    with as_tenant(tenant_service, "acme") as acme:
        assert say(acme, "another").status_code == 200  # its slot came back


# --8<-- [end:share-test]


# --8<-- [start:quota-test]
def test_a_spent_quota_is_429_until_the_window_ends_and_matches_what_was_counted(tenant_service):
    # The prompt alone is over globex's 40 tokens, so the first turn spends the window whatever the
    # model answers (a short "Hello!" turn could cost 40 or fewer, and leave room for a second).
    long_question = "Please summarise, in one short sentence, why a service should refuse work early " * 4
    with as_tenant(tenant_service, "globex") as globex:
        assert say(globex, "q1", long_question).status_code == 200  # nothing spent before it: admitted
        refused = say(globex, "q2")
    assert_problem(refused, 429, "quota-exhausted")
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    spent = tenant_counter(tenant_service, "streaming_llm_chat_tenant_tokens_total", "globex", by="kind")
    charged = redis.Redis.from_url(tenant_service.redis.url).get("chat:tokens-used:globex")
    assert int(charged) == sum(spent.values()) > 40  # Redis and the metrics agree on the cost
    assert spent["prompt"] > spent["completion"] > 0
    with as_tenant(tenant_service, "initech") as initech:  # a quota is per tenant
        assert say(initech, "q2").status_code == 200


# --8<-- [end:quota-test]


# --8<-- [start:salt-test]
def test_on_vllm_a_tenant_reuses_its_own_cached_prefixes_and_never_another_tenants(tenant_service_on_vllm):
    stack, words = tenant_service_on_vllm, FIRST_MESSAGE.format(customer="with the same words")

    def sent(client: httpx.Client, conversation: str):
        mark = stack.llm.prefix_cache_mark()
        assert say(client, conversation, words, max_tokens=4).status_code == 200
        return stack.llm.prefix_reuse_since(mark)

    with as_tenant(stack, "acme") as acme, as_tenant(stack, "initech") as initech:
        sent(acme, "first")
        other_tenant = sent(initech, "same-words")  # the same prompt, another tenant's salt
        same_tenant = sent(acme, "again")
    assert other_tenant.reused == 0 and other_tenant.computed > 128
    assert same_tenant.reused >= 128  # at least one whole block (vLLM's CPU block: 128 tokens)


# --8<-- [end:salt-test]


def test_the_fetch_client_sends_the_bearer_key_that_eventsource_could_not(tenant_service):
    """The streaming endpoint is a POST with a Bearer key: what fetch() can send and EventSource cannot."""
    args = ["How are you?", "--max-tokens", "8", "--url", tenant_service.url, "--conversation", "js-key"]
    refused = run_js_client("02-streaming-llm-chat", *args)
    assert refused.returncode == 1 and refused.stderr.startswith("401 /problems/unauthenticated"), refused.stderr
    done = run_js_client("02-streaming-llm-chat", *args, "--key", KEYS["initech"])
    assert done.returncode == 0, done.stderr
    assert "tokens, first after" in done.stdout
