"""Project 10 in local mode: the gateway's model files built once per machine (EfficientNet-Lite0 in
float32 and int8), a signed bundle of the int8 model, the gateway's golden images and device keys,
then Mosquitto (the MQTT broker), the cloud (results and bundles, local/cloud.py) and the gateway."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from study.environments import ensure_environment, run_in_environment
from study.errors import StudyError
from study.mosquitto_local import LocalMosquitto
from study.paths import cache_dir
from study.processes import ManagedProcess, free_port
from study.service import Report, start_api

from .publisher import public_key_text, publish, signing_key

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
# Calibration images for int8 (they ship in scikit-image); none is a golden image.
CALIBRATION_IMAGES: tuple[str, ...] = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
CALIBRATION_IMAGES += ("grass", "gravel", "brick", "colorwheel", "logo", "cell", "text", "moon", "page", "camera")
# The golden images: a bundle must give these classes to be installed (ImageNet indices).
GOLDEN = {"chelsea.png": ("chelsea", 285), "coffee.png": ("coffee", 967)}  # Egyptian cat, espresso
DEVICES = ("camera-entrance", "camera-till", "sensor-dock")
GATEWAY_TOKEN = "local-gateway-token"


@functools.cache
def device_client():
    """client.py, the reader's device, as a module: the harness signs frames the way it does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("edge_client", PROJECT_DIR / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_recipe() -> str:
    digest = hashlib.sha256()
    for name in ("build_model.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    digest.update(",".join(CALIBRATION_IMAGES).encode())
    return digest.hexdigest()[:16]


def calibration_batch() -> np.ndarray:
    """The calibration images through the gateway's own preprocessing."""
    import skimage.data
    from PIL import Image

    from edge_gateway.images import to_model_input

    return np.stack(
        [to_model_input(Image.fromarray(getattr(skimage.data, n)()).convert("RGB")) for n in CALIBRATION_IMAGES]
    )


def ensure_models(report: Report = print) -> Path:
    """model_fp32.onnx and model_int8.onnx, once per recipe (the export needs PyTorch: a build tool)."""
    folder = cache_dir() / "models" / "edge-gateway" / build_recipe()
    if not (folder / "model_fp32.onnx").exists():
        env = ensure_environment("edge-gateway-build", MODEL_BUILD_DIR / "requirements.txt", report=report)
        report("exporting EfficientNet-Lite0 and quantizing it to int8 (once)")
        with tempfile.TemporaryDirectory() as tmp:
            calibration = Path(tmp) / "calibration.npy"
            np.save(calibration, calibration_batch())
            run_in_environment(env, MODEL_BUILD_DIR / "build_model.py", calibration, folder, what="model build")
    return folder


def png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def write_golden(folder: Path) -> Path:
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for name, (source, _) in GOLDEN.items():
        (folder / name).write_bytes(png(getattr(skimage.data, source)()))
    (folder / "expected.json").write_text(json.dumps({name: index for name, (_, index) in GOLDEN.items()}))
    return folder


def write_devices(path: Path) -> dict[str, str]:
    keys = {device: secrets.token_hex(16) for device in DEVICES}
    path.write_text(json.dumps(keys))
    return keys


@dataclass
class Cloud:
    """local/cloud.py as a process: where results go and bundles come from."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {"CLOUD_DIR": str(self.folder), "CLOUD_TOKEN": GATEWAY_TOKEN}
        self.process = start_api(
            "cloud",
            "edge_gateway",
            env,
            self.folder,
            self.port,
            app="study.local.edge_gateway.cloud:create_app",
            log_name="cloud.log",
            ready_path="/v1/results/stats",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def gateway_env(stack_dir: Path, mosquitto: LocalMosquitto, cloud: Cloud, public_key: str) -> dict[str, str]:
    env = {
        # glibc gives each thread that allocates its own malloc arena; two are enough for a gateway
        # whose work is one model call at a time (measured: less resident memory under load).
        "MALLOC_ARENA_MAX": "2",
        "EDGE_GATEWAY_DATA_DIR": str(stack_dir / "gateway"),
        "EDGE_GATEWAY_DEVICES_FILE": str(stack_dir / "devices.json"),
        "EDGE_GATEWAY_GOLDEN_DIR": str(stack_dir / "golden"),
        "EDGE_GATEWAY_UPDATE_PUBLIC_KEY": public_key,
        "EDGE_GATEWAY_BOOTSTRAP_BUNDLE": str(stack_dir / "cloud" / "bundles" / "v1"),
        "EDGE_GATEWAY_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "EDGE_GATEWAY_SYNC_INTERVAL_S": "1",
        "EDGE_GATEWAY_BACKOFF_MAX_S": "4",
        "EDGE_GATEWAY_UPDATE_INTERVAL_S": "2",
    }
    env |= {"EDGE_GATEWAY_MQTT_HOST": mosquitto.host, "EDGE_GATEWAY_MQTT_PORT": str(mosquitto.port)}
    env |= {"EDGE_GATEWAY_CLOUD_URL": cloud.url, "EDGE_GATEWAY_UPDATE_URL": f"{cloud.url}/v1/bundles/latest"}
    return env


def start_gateway(
    env: dict[str, str], run_dir: Path, port: int, cpus: str | None = None, wait_for: str = "ready"
) -> ManagedProcess:
    """The gateway under uvicorn; ``cpus`` ("0") pins it with taskset, as a one-core box.
    ``wait_for="live"``: return once it answers at all (a gateway that cannot be ready, by design)."""
    prefix: list[str] = []
    if cpus is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            raise StudyError("taskset (util-linux) is needed for the constrained profile")
        prefix = [taskset, "-c", cpus]
    return start_api(
        "edge gateway",
        "edge_gateway",
        env,
        run_dir,
        port,
        log_name="gateway.log",
        ready_path=f"/health/{wait_for}",
        prefix=prefix,
    )


@dataclass
class Stack:
    dir: Path
    models: Path
    mosquitto: LocalMosquitto
    cloud: Cloud
    env: dict[str, str]
    device_keys: dict[str, str]
    port: int
    gateway: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_gateway(self, cpus: str | None = None, wait_for: str = "ready", **settings: str) -> None:
        env = {**self.env, **{f"EDGE_GATEWAY_{k.upper()}": v for k, v in settings.items()}}
        self.gateway = start_gateway(env, self.dir, self.port, cpus, wait_for)

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()

    def kill_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.kill()

    def publish(self, version: str, model: Path, key=None, make_latest: bool = True) -> Path:
        return publish(self.cloud.folder / "bundles", version, model, key or signing_key(), make_latest)

    def endpoints(self) -> dict[str, str]:
        return {
            "gateway API": f"{self.url}/docs",
            "gateway status": f"{self.url}/v1/status",
            "MQTT broker": f"mqtt://{self.mosquitto.host}:{self.mosquitto.port} (topic devices/<id>/images)",
            "cloud (results received)": f"{self.cloud.url}/v1/results/stats",
            "device keys": str(self.dir / "devices.json"),
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path, port: int | None = None, host: str = "127.0.0.1", report: Report = print
) -> Iterator[Stack]:
    models = ensure_models(report)
    shutil.rmtree(run_dir / "gateway", ignore_errors=True)  # every local run starts as a new box
    write_golden(run_dir / "golden")
    keys = write_devices(run_dir / "devices.json")
    key = signing_key()
    with ExitStack() as cleanup:
        report("starting Mosquitto (MQTT broker) and the cloud (results and model bundles)")
        mosquitto = LocalMosquitto(run_dir / "mosquitto")
        mosquitto.start()
        cleanup.callback(mosquitto.stop)
        cloud = Cloud(run_dir / "cloud")
        shutil.rmtree(cloud.folder, ignore_errors=True)
        publish(cloud.folder / "bundles", "v1", models / "model_int8.onnx", key)
        cloud.start()
        cleanup.callback(cloud.stop)
        stack = Stack(
            run_dir,
            models,
            mosquitto,
            cloud,
            gateway_env(run_dir, mosquitto, cloud, public_key_text(key)),
            keys,
            port or free_port(),
        )
        report("starting the gateway (it verifies and installs bundle v1)")
        stack.start_gateway()
        cleanup.callback(stack.stop_gateway)
        yield stack


# --8<-- [end:stack]
