"""Typed settings: the only thing that differs between local mode and compose mode."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelSpec(BaseModel):
    """A model as tenants see it. ``owner`` None: shared by every tenant; else only that tenant
    sees it (another tenant gets the same 404 as for a name that does not exist)."""

    triton_name: str
    features: int = Field(gt=0)
    labels: list[str]
    owner: str | None = None


class Limits(BaseModel):
    """A tenant's plan: a token bucket (``rate_per_s`` refill, ``burst`` size), inferences running
    at once, and requests per calendar month (UTC)."""

    rate_per_s: float = Field(gt=0)
    burst: int = Field(ge=1)
    concurrent: int = Field(ge=1)
    monthly_quota: int = Field(ge=1)


class Settings(BaseSettings):
    """Read from environment variables prefixed ``SECURE_PLATFORM_`` (e.g. ``SECURE_PLATFORM_ISSUER``);
    the nested ones as JSON."""

    model_config = SettingsConfigDict(env_prefix="SECURE_PLATFORM_")

    # --8<-- [start:identity]
    issuer: str = Field(
        "http://localhost:8080/realms/inference",
        description="The OpenID provider; its /.well-known/openid-configuration names the JWKS.",
    )
    provider_url: str | None = Field(
        None,
        description="Where this service reaches the provider, when not at the issuer's own address "
        "(in compose: http://keycloak:8080/realms/inference, while tokens name http://localhost:8080/...).",
    )
    audience: str = Field("urn:inference-study:api", description="The `aud` every token must carry.")
    algorithms: list[str] = Field(["RS256"], description="Signature algorithms accepted (never `none`, never HS*).")
    leeway_s: int = Field(10, ge=0, le=60, description="Clock skew allowed on `exp`, `nbf` and `iat`.")
    jwks_min_refresh_s: float = Field(
        30.0, ge=0, description="Least time between two JWKS fetches (an unknown `kid` may trigger one)."
    )
    max_token_bytes: int = Field(8192, ge=512, description="Longest Authorization header accepted.")
    # --8<-- [end:identity]

    triton_url: str = Field("localhost:8001", description="Triton gRPC endpoint, host:port.")
    model_timeout_s: float = Field(5.0, gt=0, description="Deadline for one model call.")
    models: dict[str, ModelSpec] = Field(
        {
            "digits": ModelSpec(triton_name="digits", features=64, labels=[str(d) for d in range(10)]),
            "wine-cultivar": ModelSpec(
                triton_name="acme__wine_cultivar",
                features=13,
                labels=["cultivar_1", "cultivar_2", "cultivar_3"],
                owner="acme",
            ),
            "tumour-screen": ModelSpec(
                triton_name="globex__tumour_screen", features=30, labels=["malignant", "benign"], owner="globex"
            ),
        },
        description="Public model name -> its Triton model, input width, labels and owner.",
    )
    max_rows: int = Field(64, ge=1, description="Most rows in one prediction request.")

    database_url: str = Field(
        "postgresql://inference_app@localhost:5432/app",
        description="PostgreSQL as the application role (row-level security applies to it).",
    )
    migration_database_url: str | None = Field(
        None, description="PostgreSQL as the schema owner: when set, the schema is applied at start."
    )
    app_role_password: str | None = Field(
        None, description="Password the schema gives the application role (None: no password, local trust)."
    )
    database_timeout_s: float = Field(2.0, gt=0, description="Deadline for one database transaction.")
    tenant_filter: bool = Field(
        True,
        description="Queries also filter by tenant in SQL. Row-level security holds without it: "
        "the isolation tests turn it off to show that.",
    )

    redis_url: str = Field("redis://localhost:6379/0", description="Redis for the limits and revoked tokens.")
    limits: dict[str, Limits] = Field(
        {
            "acme": Limits(rate_per_s=50, burst=100, concurrent=4, monthly_quota=1_000_000),
            "globex": Limits(rate_per_s=50, burst=100, concurrent=4, monthly_quota=1_000_000),
        },
        description="Each tenant's plan.",
    )
    default_limits: Limits = Field(
        Limits(rate_per_s=5, burst=10, concurrent=1, monthly_quota=10_000),
        description="The plan of a tenant not listed in `limits`.",
    )

    max_request_bytes: int = Field(256 * 1024, description="Largest accepted request body.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")
    log_level: str = "INFO"
