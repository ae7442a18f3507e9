"""Typed settings, from environment variables EMAIL_ASSISTANT_*. The API, the SMTP listener and the
worker read the same ones."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMAIL_ASSISTANT_")

    database_url: str = Field(
        "postgresql://app@localhost:5432/app", description="Messages, decisions, memory and LangGraph's checkpoints."
    )
    redis_url: str = Field("redis://localhost:6379/0", description="De-duplication, rate limits, the work queue.")
    llm_base_url: str = Field("http://localhost:8080/v1", description="An OpenAI-compatible server.")
    llm_model: str = "local"
    llm_structured_output: Literal["json_schema", "json_object"] = Field(
        "json_schema",
        description="How the server is asked to follow a schema: json_schema (vLLM), json_object (llama.cpp).",
    )
    llm_timeout_s: float = 60
    llm_retries: int = Field(3, ge=0, description="Tries after the first before a message is escalated to a person.")
    retry_backoff_s: float = Field(5, gt=0, description="The first wait before a retry; doubled each time.")
    triage_model: Literal["classifier", "llm"] = Field("classifier", description="Who decides category and urgency.")
    classifier_file: Path = Field(
        Path("/models/triage.joblib"), description="TF-IDF + logistic regression (classifier.py)."
    )
    course_search_url: str | None = Field(None, description="Project 03's API, for the search_course tool.")
    smtp_relay_host: str = "localhost"
    smtp_relay_port: int = 25
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = Field(2525, ge=0, description="The inbound SMTP listener (0: off, mail only by API).")
    from_address: str = "Course team <team@course.example>"
    mail_domain: str = "course.example"
    max_message_bytes: int = Field(1024 * 1024, description="Larger mail is refused (SMTP 552, HTTP 413).")
    sender_messages_per_hour: int = Field(20, ge=1, description="More from one sender are held, not processed.")
    worker_name: str = Field("worker-1", description="Names the worker's processing list in Redis.")
    sweep_every_s: float = Field(
        60, gt=0, description="How often a worker re-queues from the database what has work left."
    )
    worker_metrics_host: str = "0.0.0.0"
    worker_metrics_port: int = Field(9100, ge=0, description="The worker's own /metrics (0: off).")
    retry_after_s: int = 5
    log_level: str = "INFO"

    @property
    def max_request_bytes(self) -> int:
        """The raw upload's limit plus room for the request's own framing."""
        return self.max_message_bytes + 4096
