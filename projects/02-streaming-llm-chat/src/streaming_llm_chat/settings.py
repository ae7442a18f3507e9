"""Typed settings: local mode and compose mode differ only in these (environment variables STREAMING_LLM_CHAT_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:tenant]
class TenantConfig(BaseModel):
    """One customer of a shared deployment: its key, its share of the model, its token budget."""

    name: str = Field(pattern=r"^[a-z0-9-]{1,32}$", description="Shown in metrics and logs; scopes its data.")
    key_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description=("SHA-256 of the tenant's API key, in hex: the service never holds the key itself."),
    )
    max_streams: int = Field(
        ge=1, description=("Turns this tenant may have admitted or waiting on one instance; beyond: 429 tenant-busy.")
    )
    tokens_per_window: int | None = Field(
        None, ge=1, description=("Prompt + answer tokens per quota window, over all instances (Redis); None: no quota.")
    )


# --8<-- [end:tenant]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMING_LLM_CHAT_")

    llm_base_url: str = Field("http://localhost:8080/v1", description="OpenAI-compatible API root.")
    llm_replica_urls: list[str] = Field(
        default_factory=list,
        description=(
            "More replicas of the same LLM server (a JSON list); a turn goes to one of them, see llm_routing."
        ),
    )
    llm_routing: Literal["affinity", "round-robin"] = Field(
        "affinity",
        description=(
            "affinity: a conversation stays on one replica, whose prefix cache holds its history; "
            "round-robin: turns spread evenly over the replicas."
        ),
    )
    llm_model: str = Field("local", description="Model name the LLM server knows.")
    llm_timeout_s: float = Field(60.0, gt=0)
    redis_url: str = "redis://localhost:6379/0"
    tokenizer_file: str = Field(..., description="The model's tokenizer.json, to count tokens.")

    system_prompt: str = "You are a helpful customer-support assistant. Answer briefly and politely."
    context_window_tokens: int = Field(4096, description="The model's context length (prompt + answer).")
    history_ttl_s: int = Field(24 * 3600, description="A conversation expires this long after its last message.")

    max_message_chars: int = 4000
    max_history_messages: int = Field(200, ge=2, description="Messages kept per conversation; beyond: 422.")
    max_tokens_limit: int = Field(512, description="Largest max_tokens a client may ask for.")
    default_max_tokens: int = 256

    max_concurrent_streams: int = Field(4, ge=1, description="Generations in flight per instance.")
    max_waiting: int = Field(8, ge=0, description="Requests allowed to wait for a slot; beyond: 429.")
    queue_timeout_s: float = Field(10.0, gt=0, description="Longest wait for a slot before 429.")
    retry_after_s: int = 2
    tenants: list[TenantConfig] = Field(
        default_factory=list,
        description=(
            "A JSON list. Empty: one open tenant, 'public', and no API key (the local demo). "
            "Set: every request must carry a tenant's key (Authorization: Bearer ...)."
        ),
    )
    tenant_quota_window_s: int = Field(
        3600,
        ge=1,
        description=(
            "A tenant's token quota window; it starts with the first tokens charged after the last one ended."
        ),
    )
    log_level: str = "INFO"
