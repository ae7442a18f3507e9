"""The course's twelve projects: what each teaches, and whether it runs here yet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Project:
    slug: str
    folder: str
    title: str
    teaches: str
    runnable: bool = False
    try_it: str = ""  # a first request to make, with {url} for the API's address

    @property
    def stack_module(self) -> str:
        """study.stacks.<name>: its running_stack() starts the project's backends and API."""
        return f"study.stacks.{self.slug.replace('-', '_')}"

    @property
    def bench_module(self) -> str:
        """study.bench.<name>: its run() writes the benchmark JSON, chart and table."""
        return f"study.bench.{self.slug.replace('-', '_')}"


PROJECTS = [
    Project("image-classification", "01-image-classification", "Image classification behind Triton",
            "Triton model repository, dynamic batching, async gRPC client, problem+json errors", True,
            "curl -F image=@cat.jpg '{url}/v1/classify?top_k=3'"),
    Project("streaming-llm-chat", "02-streaming-llm-chat", "Streaming LLM chat",
            "SSE streaming, Redis conversation context, backpressure, cancel on disconnect", True,
            "curl -N -H 'Content-Type: application/json' -d '{{\"content\": \"Hello!\"}}' "
            "{url}/v1/conversations/demo/messages"),
    Project("rag", "03-rag", "RAG: ask the course", "embeddings on Triton, Milvus, citations, "
            "retrieval quality measured", True,
            "curl -N -H 'Content-Type: application/json' "
            "-d '{{\"question\": \"What is dynamic batching?\"}}' {url}/v1/ask"),
    Project("video-moderation", "04-video-moderation", "Batch video moderation",
            "Celery jobs, priorities, progress, signed webhooks, no job lost", True,
            "curl -F video=@clip.mp4 -F priority=high {url}/v1/jobs"),
    Project("model-ensembles", "05-model-ensembles", "Model ensembles", "Triton ensembles and BLS, voting"),
    Project("email-assistant", "06-email-assistant", "Agentic email assistant",
            "tool calling, structured output, guardrails"),
    Project("translation", "07-translation", "Cost-optimised translation", "caching, routing, cost per request"),
    Project("ocr-pipeline", "08-ocr-pipeline", "Monitored OCR pipeline", "metrics, alerts, dashboards"),
    Project("ab-rollouts", "09-ab-rollouts", "A/B rollouts", "traffic splitting, shadow traffic, rollback"),
    Project("edge-gateway", "10-edge-gateway", "Edge gateway", "rate limits, auth at the edge, caching"),
    Project("multi-tenant", "11-multi-tenant", "Secure multi-tenant inference", "OIDC, quotas, audit logs"),
    Project("autoscaling-llm", "12-autoscaling-llm", "Autoscaling LLM service",
            "queue-depth autoscaling, TTFT/ITL metrics"),
]


def find_project(slug: str) -> Project:
    for project in PROJECTS:
        if slug in (project.slug, project.folder, project.folder[:2]):
            return project
    raise KeyError(slug)
