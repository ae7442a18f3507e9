"""Project 11 in local mode: three classifiers trained once per machine on data that ships inside
scikit-learn, Triton on CPU serving them, the OpenID provider (Node, oidc-provider), PostgreSQL
with row-level security, Redis for the limits, and the API."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from study.environments import ensure_environment, run_in_environment
from study.errors import StudyError
from study.paths import cache_dir
from study.postgres_local import LocalPostgres
from study.processes import ManagedProcess
from study.redis_local import LocalRedis
from study.service import Report, port_of, start_api
from study.triton_local import LocalTriton, build_cpu_repository

from .identity import CATALOG, LocalProvider

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
CREDENTIALS = cache_dir() / "secure-platform" / "local-credentials.json"
TRITON_MODELS = ("digits", "acme__wine_cultivar", "globex__tumour_screen")


def build_recipe() -> str:
    digest = hashlib.sha256()
    for name in ("train.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def check_models(folder: Path) -> dict:
    """Accept a build by what it does: each model gives one probability per class for a held-out
    row, summing to one, and its argmax is scikit-learn's own answer for that row."""
    import numpy as np
    import onnxruntime as ort

    metrics = json.loads((folder / "metrics.json").read_text())
    held_out = json.loads((folder / "held_out.json").read_text())
    for name in TRITON_MODELS:
        session = ort.InferenceSession(str(folder / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        rows = np.asarray(held_out[name]["inputs"][:20], dtype=np.float32)
        (probabilities,) = session.run(["PROBABILITIES"], {"FEATURES": rows})
        if probabilities.shape != (20, len(metrics[name]["labels"])) or not np.allclose(probabilities.sum(1), 1, 1e-4):
            raise StudyError(f"{name}.onnx does not give one probability per class")
        if probabilities.argmax(1).tolist() != held_out[name]["sklearn"][:20]:
            raise StudyError(f"{name}.onnx disagrees with scikit-learn on held-out rows")
    return metrics


def ensure_models(report: Report = print) -> Path:
    """Train and export once per recipe (train.py + its lock); checked at each use."""
    folder = cache_dir() / "models" / "secure-platform" / build_recipe()
    if not (folder / "metrics.json").exists():
        env = ensure_environment("secure-platform-train", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("training the three classifiers (digits, wine, breast cancer: scikit-learn's own data)")
        run_in_environment(env, MODEL_BUILD_DIR / "train.py", folder, what="classifier training")
    check_models(folder)
    return folder


def write_credentials(path: Path, stack: Stack) -> None:
    """This run's addresses and client secrets, readable by this user only (client.py reads them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(
        json.dumps(
            {
                "api": stack.url,
                "issuer": stack.provider.issuer,
                "clients": stack.provider.secrets["clients"],
                "scopes": {client["client_id"]: client["scope"] for client in CATALOG["clients"]},
                "users": stack.provider.secrets["users"],
            },
            indent=1,
        )
    )


def start_service(
    run_dir: Path,
    provider: LocalProvider,
    triton: LocalTriton,
    postgres: LocalPostgres,
    redis: LocalRedis,
    port: int | None = None,
    host: str = "127.0.0.1",
    settings: dict[str, str] | None = None,
) -> ManagedProcess:
    """The API as the application role; it applies the schema as the owner at start.
    ``settings``: extra SECURE_PLATFORM_* variables by short name."""
    owner_url = postgres.url
    scheme, rest = owner_url.split("//", 1)
    app_url = f"{scheme}//inference_app@{rest.split('@', 1)[1]}"
    env = {
        "SECURE_PLATFORM_ISSUER": provider.issuer,
        "SECURE_PLATFORM_AUDIENCE": provider.audience,
        "SECURE_PLATFORM_TRITON_URL": triton.grpc_url,
        "SECURE_PLATFORM_DATABASE_URL": app_url,
        "SECURE_PLATFORM_MIGRATION_DATABASE_URL": owner_url,
        "SECURE_PLATFORM_REDIS_URL": redis.url,
        **{f"SECURE_PLATFORM_{k.upper()}": v for k, v in (settings or {}).items()},
    }
    return start_api("secure-platform API", "secure_platform", env, run_dir, port, host)


@dataclass
class Stack:
    provider: LocalProvider
    triton: LocalTriton
    postgres: LocalPostgres
    redis: LocalRedis
    service: ManagedProcess
    models: Path  # the build: ONNX files, metrics.json, held_out.json
    run_dir: Path
    settings: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def restart_service(self, **settings: str) -> None:
        """The API again on the same port, with the stack's settings and these on top."""
        self.service.stop()
        self.service = start_service(
            self.run_dir,
            self.provider,
            self.triton,
            self.postgres,
            self.redis,
            port_of(self.service),
            settings={**self.settings, **settings},
        )

    def endpoints(self) -> dict[str, str]:
        """What `study up` prints for the reader to open."""
        return {
            "API docs": f"{self.url}/docs",
            "OpenID provider": f"{self.provider.issuer}/.well-known/openid-configuration",
            "client secrets (this run)": str(self.provider.run_dir / "secrets.json"),
            "PostgreSQL (owner)": self.postgres.url,
            "Redis": self.redis.url,
            "model quality": str(self.models / "metrics.json"),
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    settings: dict[str, str] | None = None,
    credentials: Path | None = CREDENTIALS,
) -> Iterator[Stack]:
    """``credentials``: where to write this run's client secrets for client.py (None: nowhere)."""
    models = ensure_models(report)
    with ExitStack() as cleanup:
        repository = build_cpu_repository(
            PROJECT_DIR / "model_repository",
            {name: models / f"{name}.onnx" for name in TRITON_MODELS},
            run_dir / "model_repository",
        )
        triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log")
        triton.start(report)
        cleanup.callback(triton.stop)
        report("starting the OpenID provider (oidc-provider on Node)")
        provider = LocalProvider(run_dir / "identity")
        provider.start(report)
        cleanup.callback(provider.stop)
        report("starting PostgreSQL and Redis")
        postgres = LocalPostgres(run_dir / "postgres")
        postgres.start()
        cleanup.callback(postgres.remove)
        redis = LocalRedis(run_dir / "redis")
        redis.start()
        cleanup.callback(redis.stop)
        report("starting the FastAPI service (it applies the schema and its row-level security)")
        service = start_service(run_dir, provider, triton, postgres, redis, port, host, settings)
        stack = Stack(provider, triton, postgres, redis, service, models, run_dir, dict(settings or {}))
        cleanup.callback(lambda: stack.service.stop())  # restart_service may have replaced it
        if credentials is not None:
            write_credentials(credentials, stack)
        yield stack


# --8<-- [end:stack]
