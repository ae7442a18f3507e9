"""Project 06 in local mode: PostgreSQL, Redis, an SMTP relay that keeps what it is sent, the LLM
server, project 03's course search (the search_course tool), the triage classifier trained once,
then the API (with the SMTP listener) and one worker."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.errors import StudyError
from study.llm_local import BACKENDS, LocalLlamaCpp, LocalVllm, choose_backend
from study.paths import cache_dir
from study.postgres_local import LocalPostgres
from study.processes import ManagedProcess, free_port
from study.redis_local import LocalRedis
from study.service import Report, port_of, start_api
from study.smtp_local import LocalSmtpSink

PROJECT_DIR = Path(__file__).resolve().parents[1]
EVALUATION_DIR = PROJECT_DIR / "evaluation"
TUNING_SET = EVALUATION_DIR / "emails.yaml"


def ensure_classifier(report: Report = print) -> Path:
    """Train the triage classifier on the tuning emails, once per recipe (the emails and the code)."""
    from email_assistant import classifier

    digest = hashlib.sha256(TUNING_SET.read_bytes() + Path(classifier.__file__).read_bytes()).hexdigest()[:16]
    model = cache_dir() / "models" / "email-triage" / f"{digest}.joblib"
    if not model.exists():
        report("training the triage classifier (TF-IDF + logistic regression, 64 emails)")
        classifier.main(TUNING_SET, model.with_suffix(".tmp"))
        model.with_suffix(".tmp").replace(model)
    return model


@dataclass
class Stack:
    postgres: LocalPostgres
    redis: LocalRedis
    relay: LocalSmtpSink
    llm: LocalLlamaCpp | LocalVllm
    course_search: Any  # project 03's stack (its service is the search_course tool), or None
    run_dir: Path
    env: dict[str, str]
    port: int | None = None
    host: str = "127.0.0.1"
    service: ManagedProcess | None = None
    worker: ManagedProcess | None = None
    smtp_port: int = field(default_factory=free_port)
    worker_metrics_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        assert self.service is not None
        return self.service.url

    def service_env(self) -> dict[str, str]:
        return {
            **self.env,
            "EMAIL_ASSISTANT_SMTP_LISTEN_PORT": str(self.smtp_port),
            "EMAIL_ASSISTANT_WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "EMAIL_ASSISTANT_WORKER_METRICS_HOST": "127.0.0.1",
        }

    def start_service(self) -> None:
        self.service = start_api(
            "email-assistant API", "email_assistant", self.service_env(), self.run_dir, self.port, self.host
        )
        self.port = port_of(self.service)  # a restart keeps the address

    def start_worker(self) -> None:
        self.worker = ManagedProcess(
            "email-assistant worker",
            [sys.executable, "-m", "email_assistant.worker"],
            self.run_dir / "logs" / "worker.log",
            env=self.service_env(),
        )
        self.worker.start()
        worker = self.worker
        worker.wait_until(lambda: "ready" in worker.log_tail(50), 90, "taking messages from the queue")

    def restart_worker(self, **env: str) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.env.update(env)
        self.start_worker()

    def stop(self) -> None:
        for process in (self.worker, self.service):
            if process is not None:
                process.stop()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "approvals": f"{self.url}/v1/approvals",
            "SMTP listener": f"smtp://{self.host}:{self.smtp_port}",
            "metrics (API)": f"{self.url}/metrics",
            "metrics (worker)": f"http://127.0.0.1:{self.worker_metrics_port}/metrics",
            "PostgreSQL": self.postgres.url,
            "sent mail (.eml files)": str(self.relay.folder / "mail"),
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    service_env: dict[str, str] | None = None,
    backend: str | None = None,
    course_search: bool = True,
) -> Iterator[Stack]:
    """Every backend as a process, then the API and one worker; all stopped on exit.
    ``course_search``: also run project 03 (Triton, Milvus Lite, the course indexed) for the
    search_course tool, sharing this stack's LLM server."""
    backend = choose_backend(backend)
    classifier = ensure_classifier(report)
    with ExitStack() as cleanup:
        postgres = LocalPostgres(run_dir / "postgres")
        report("starting PostgreSQL")
        postgres.start()
        cleanup.callback(postgres.remove)
        redis = LocalRedis(run_dir / "redis")
        redis.start()
        cleanup.callback(redis.stop)
        relay = LocalSmtpSink(run_dir / "relay")
        relay.start()
        cleanup.callback(relay.stop)
        llm = BACKENDS[backend](run_dir / "logs" / f"{backend}.log")
        report(f"starting the {backend} OpenAI-compatible server (SmolLM2-135M-Instruct)")
        llm.start(report)
        cleanup.callback(llm.stop)
        rag = None
        if course_search:
            report("starting project 03's course search (Triton, Milvus Lite, the course indexed)")
            rag = start_course_search(cleanup, run_dir / "course-search", llm)
        env = {
            "EMAIL_ASSISTANT_DATABASE_URL": postgres.url,
            "EMAIL_ASSISTANT_REDIS_URL": redis.url,
            "EMAIL_ASSISTANT_LLM_BASE_URL": llm.base_url,
            "EMAIL_ASSISTANT_LLM_STRUCTURED_OUTPUT": "json_object" if isinstance(llm, LocalLlamaCpp) else "json_schema",
            "EMAIL_ASSISTANT_CLASSIFIER_FILE": str(classifier),
            "EMAIL_ASSISTANT_SMTP_RELAY_HOST": "127.0.0.1",
            "EMAIL_ASSISTANT_SMTP_RELAY_PORT": str(relay.port),
            **({"EMAIL_ASSISTANT_COURSE_SEARCH_URL": rag.url} if rag else {}),
            **(service_env or {}),
        }
        stack = Stack(postgres, redis, relay, llm, rag, run_dir, env, port, host)
        cleanup.callback(stack.stop)
        report("starting the API (and its SMTP listener) and a worker")
        stack.start_service()
        stack.start_worker()
        yield stack


# --8<-- [end:stack]


def start_course_search(cleanup: ExitStack, run_dir: Path, llm: Any) -> Any:
    try:
        from study.local.rag.stack import running_stack as rag_stack
    except ImportError as exc:  # the folder was copied out alone
        raise StudyError("search_course needs project 03 next to this one (or course_search=False)") from exc
    return cleanup.enter_context(rag_stack(run_dir, report=lambda _: None, llm=llm))
