"""The app factory: ``uvicorn --factory image_classification.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from PIL import Image

from image_classification.api.middleware import install_middleware
from image_classification.api.problems import install_problem_handlers
from image_classification.api.routes import router
from image_classification.logging_config import configure_logging
from image_classification.onnx_runtime_client import OnnxRuntimeClassifier
from image_classification.services.classifier import Classifier, ModelBackend
from image_classification.services.preprocessing import IMAGE_TENSOR_BYTES
from image_classification.settings import Settings
from image_classification.triton_client import TritonClassifierClient
from image_classification.triton_shared_memory import InputSlots

HTTP_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# --8<-- [start:factory]
# --8<-- [start:backend]
def model_backend(settings: Settings) -> ModelBackend:
    if settings.backend == "onnxruntime":  # the edge: the model in this process
        return OnnxRuntimeClassifier(
            settings.onnx_model_path, settings.onnx_model_sha256, settings.onnx_threads, settings.model_name
        )
    # Where Triton shares this host's /dev/shm, input tensors can skip the gRPC message.
    # Each slot holds one image's tensor; a larger batch goes inside the request.
    slots = InputSlots(settings.triton_shm_slots, IMAGE_TENSOR_BYTES) if settings.triton_shm_slots else None
    # One async gRPC client for the whole process: it multiplexes every request on one channel.
    return TritonClassifierClient(
        settings.triton_url,
        settings.model_name,
        settings.model_version,
        settings.triton_timeout_s,
        slots,
        retry_model_errors=settings.triton_retry_model_errors,
    )


# --8<-- [end:backend]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    # --8<-- [start:lifespan]
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        Image.init()  # load every image codec now, not during the first user's request
        backend = model_backend(settings)
        app.state.settings = settings
        app.state.backend = backend
        app.state.classifier = Classifier(backend)
        yield
        await backend.close()

    # --8<-- [end:lifespan]

    app = FastAPI(
        title="Image classification API",
        version="1.0.0",
        summary="EfficientNet-Lite0 (ImageNet-1k) served by Triton Inference Server.",
        lifespan=lifespan,
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes, latency_buckets=HTTP_LATENCY_BUCKETS)
    return app


# --8<-- [end:factory]
