"""Project 01 in local mode: build EfficientNet-Lite0 once, start Triton on CPU, start the API."""

from __future__ import annotations

import hashlib
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
from study.service import Report, start_api
from study.triton_local import LocalTriton, build_cpu_repository

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
MODEL_NAME = "efficientnet_lite0"
# The same network behind a server-side preprocessing step (model_repository/efficientnet_lite0_uint8).
ENSEMBLE_NAME = "efficientnet_lite0_uint8"
LOADED_AT_START = (MODEL_NAME, ENSEMBLE_NAME)  # --load-model in compose and Helm too (tests hold them)


def sha256_of(path: Path) -> str:
    """The file's digest: what an edge release records for the file it ships (a byte checksum is
    right for a file that is copied as it is; a build is judged by what it does, below)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_recipe() -> str:
    """What decides the exported model: the export script and its complete lock of versions.
    The cache is keyed on it, so a change of recipe builds afresh."""
    digest = hashlib.sha256()
    for name in ("export_onnx.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


# --8<-- [start:model-check]
# Photos that ship with scikit-image, and the ImageNet classes the model must put first for them.
GOLDEN_IMAGES = {
    "chelsea": {281, 282, 285},  # tabby, tiger cat, Egyptian cat (near-tied on this cat)
    "coffee": {967},
}  # espresso
SIGNATURE = ([("input", "tensor(float)", [3, 224, 224])], [("logits", "tensor(float)", [1000])])


def check_model(model: Path) -> None:
    """Accept a built model by what it does, never by its bytes (they change with the CPU and the
    library versions while the model stays right): it loads, has the service's signature (batch
    first, any size) and puts each golden photo in its class after the service's own preprocessing."""
    import onnxruntime as ort
    import skimage.data
    from PIL import Image

    from image_classification.services.labels import imagenet_labels
    from image_classification.services.preprocessing import to_model_input

    try:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime raises its own exception types for unreadable files
        raise StudyError(f"{model} is not a loadable ONNX model: {exc}") from None
    found = (
        [(i.name, i.type, i.shape[1:]) for i in session.get_inputs()],
        [(o.name, o.type, o.shape[1:]) for o in session.get_outputs()],
    )
    if found != SIGNATURE:
        raise StudyError(f"{model} has the signature {found}, the service expects {SIGNATURE}")
    batch = np.stack([to_model_input(Image.fromarray(getattr(skimage.data, name)())) for name in GOLDEN_IMAGES])
    (logits,) = session.run(None, {"input": batch})
    labels = imagenet_labels()
    wrong = [
        f"{name} -> {labels[int(np.argmax(row))]!r}"
        for (name, classes), row in zip(GOLDEN_IMAGES.items(), logits, strict=True)
        if not np.isfinite(row).all() or int(np.argmax(row)) not in classes
    ]
    if wrong:
        raise StudyError(
            f"{model} classifies the golden photos wrongly ({'; '.join(wrong)}): "
            "the export is numerically wrong and is not served"
        )


# --8<-- [end:model-check]


# --8<-- [start:model-build]
def ensure_model(report: Report = print) -> Path:
    """Build model.onnx once per recipe (torch export in its own environment), and check what it
    does every time it is used; a file that fails the check is removed, never served."""
    model = cache_dir() / "models" / MODEL_NAME / build_recipe() / "model.onnx"
    if not model.exists():
        env = ensure_environment("torch-build", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("exporting EfficientNet-Lite0 to ONNX")
        run_in_environment(env, MODEL_BUILD_DIR / "export_onnx.py", model, what="model export")
    return checked(model)


def checked(model: Path) -> Path:
    """``model`` once it passed check_model; a file that fails is removed, so the next start rebuilds it."""
    try:
        check_model(model)
    except StudyError:
        model.unlink()
        raise
    return model


# --8<-- [end:model-build]


# Calibration images for the int8 build: none of them is a check image of the rollout tests.
CALIBRATION_IMAGES = (
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "grass",
    "gravel",
    "brick",
    "colorwheel",
    "logo",
    "cell",
    "text",
    "moon",
    "page",
)


def calibration_batch() -> np.ndarray:
    """The calibration images (they ship in scikit-image) through the service's own preprocessing."""
    import skimage.data
    from PIL import Image

    from image_classification.services.preprocessing import to_model_input

    return np.stack([to_model_input(Image.fromarray(getattr(skimage.data, name)())) for name in CALIBRATION_IMAGES])


def cat_jpeg() -> bytes:
    """The benchmarks' photo: scikit-image's Chelsea, whole, as a JPEG."""
    import io

    import skimage.data
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.chelsea()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def chelsea_crops(start: int, count: int) -> list[bytes]:
    """Distinct JPEGs of the same cat: crops of scikit-image's Chelsea, each offset by at least a
    pixel, so no two give the same input tensor (the response cache would answer a repeat)."""
    import io

    import skimage.data
    from PIL import Image

    photo = skimage.data.chelsea()  # 300 x 451
    jpegs = []
    for i in range(start, start + count):
        if i >= 1600:
            raise ValueError("1,600 crops at most")
        top, left = divmod(i, 40)
        buffer = io.BytesIO()
        Image.fromarray(photo[top : top + 260, left : left + 400]).save(buffer, "JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    return jpegs


def ensure_int8_model(report: Report = print) -> Path:
    """Build the int8 candidate once per machine; rebuilt when its recipe or its inputs change."""
    source = ensure_model(report)
    script = MODEL_BUILD_DIR / "quantize_int8.py"
    recipe = hashlib.sha256(
        script.read_bytes() + build_recipe().encode() + ",".join(CALIBRATION_IMAGES).encode()
    ).hexdigest()[:16]
    model = cache_dir() / "models" / MODEL_NAME / f"model-int8-{recipe}.onnx"
    if model.exists():
        return checked(model)
    env = ensure_environment("torch-build", MODEL_BUILD_DIR / "requirements.txt", report=report)
    report("quantizing EfficientNet-Lite0 to int8")
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "calibration.npy"
        np.save(calibration, calibration_batch())
        run_in_environment(env, script, source, calibration, model, what="int8 quantization")
    return checked(model)


def ensure_model_that_raises(report: Report = print) -> Path:
    """EfficientNet-Lite0 with a bug added (model_build/raise_on_blank.py): ONNX Runtime raises
    for any batch that holds a blank image, and answers every other batch as the model does. Built
    once per machine, checked like the model before every use."""
    source = ensure_model(report)
    script = MODEL_BUILD_DIR / "raise_on_blank.py"
    recipe = hashlib.sha256(script.read_bytes() + build_recipe().encode()).hexdigest()[:16]
    # named model.onnx, as every server's configuration expects (TorchServe's handler loads that name)
    model = cache_dir() / "models" / MODEL_NAME / f"raises-on-blank-{recipe}" / "model.onnx"
    if not model.exists():
        env = ensure_environment("torch-build", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("adding a bug to EfficientNet-Lite0 (it raises on a blank image)")
        run_in_environment(env, script, source, model, what="the model that raises")
    return checked(model)


def blank_jpeg() -> bytes:
    """What the model with the bug fails on: a white frame (a lens cap off, a blank scan)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (255, 255, 255)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


SHM_SLOTS = 16  # as IMAGE_CLASSIFICATION_TRITON_SHM_SLOTS in docker-compose.yml
RESPONSE_CACHE_BYTES = 64 * 1024 * 1024  # as --cache-config in docker-compose.yml and the Helm chart


def start_triton(
    run_dir: Path,
    dynamic_batching: bool = True,
    response_cache: bool = True,
    report: Report = print,
    model: Path | None = None,
) -> LocalTriton:
    """Triton serving ``model`` (default: the checked EfficientNet-Lite0 build)."""
    model = model or ensure_model(report)
    repository = build_cpu_repository(
        PROJECT_DIR / "model_repository", {MODEL_NAME: model}, run_dir / "model_repository", dynamic_batching
    )
    # As in compose: explicit model control, so that a new version is loaded only when asked.
    # Loading the ensemble loads the models it runs.
    triton = LocalTriton(
        repository,
        run_dir / "logs" / "tritonserver.log",
        explicit_models=LOADED_AT_START,
        response_cache_bytes=RESPONSE_CACHE_BYTES if response_cache else 0,
    )
    triton.start(report)
    return triton


def start_service(
    triton: LocalTriton, run_dir: Path, port: int | None = None, host: str = "127.0.0.1", **server: str
) -> ManagedProcess:
    """The API in front of ``triton``; ``server`` may choose uvicorn's ``loop`` and ``http``. Triton
    runs on this host, so input tensors go through shared memory (SHM_SLOTS of them in flight)."""
    env = {"IMAGE_CLASSIFICATION_TRITON_URL": triton.grpc_url, "IMAGE_CLASSIFICATION_TRITON_SHM_SLOTS": str(SHM_SLOTS)}
    return _start_api(env, run_dir, port, host, **server)


# --8<-- [start:edge-service]
def start_edge_service(
    model: Path, sha256: str, run_dir: Path, port: int | None = None, host: str = "127.0.0.1", threads: int = 1
) -> ManagedProcess:
    """The same service with the model file in its own process, no Triton (the edge). It refuses
    to start unless the file has the SHA-256 it is given."""
    return _start_api(
        {
            "IMAGE_CLASSIFICATION_BACKEND": "onnxruntime",
            "IMAGE_CLASSIFICATION_ONNX_MODEL_PATH": str(model),
            "IMAGE_CLASSIFICATION_ONNX_MODEL_SHA256": sha256,
            "IMAGE_CLASSIFICATION_ONNX_THREADS": str(threads),
        },
        run_dir,
        port,
        host,
    )


# --8<-- [end:edge-service]


def _start_api(
    env: dict[str, str], run_dir: Path, port: int | None, host: str, loop: str = "uvloop", http: str = "httptools"
) -> ManagedProcess:
    """uvloop and httptools, as uvicorn chooses them in the image (they are dependencies)."""
    return start_api("image-classification API", "image_classification", env, run_dir, port, host, loop=loop, http=http)


@dataclass
class Stack:
    triton: LocalTriton
    service: ManagedProcess

    @property
    def url(self) -> str:
        return self.service.url

    def endpoints(self) -> dict[str, str]:
        """What `study up` prints for the reader to open."""
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "Triton metrics": self.triton.metrics_url,
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    dynamic_batching: bool = True,
    response_cache: bool = True,
    report: Report = print,
) -> Iterator[Stack]:
    """Triton with the model loaded, then the FastAPI service in front of it; both stopped on exit."""
    triton = start_triton(run_dir, dynamic_batching, response_cache, report)
    try:
        report("starting the FastAPI service")
        service = start_service(triton, run_dir, port, host)
        try:
            yield Stack(triton, service)
        finally:
            service.stop()
    finally:
        triton.stop()


# --8<-- [end:stack]
