"""Prometheus metrics the service adds to the HTTP ones from prometheus-fastapi-instrumentator."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INFERENCE_SECONDS = Histogram(
    "image_classification_inference_duration_seconds",
    "Time spent waiting for Triton, per inference call (queue + compute + transfer).",
    ["model"],
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12),
)
TOP1_CONFIDENCE = Histogram(
    "image_classification_top1_confidence",
    "Softmax score of the top class per image: a drift in this shape is worth a look.",
    ["model"],
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
)
IMAGES_CLASSIFIED = Counter("image_classification_images_classified", "Images classified successfully.", ["model"])
BACKEND_UNAVAILABLE = Counter(
    "image_classification_backend_unavailable", "Requests answered 503 because Triton could not serve them."
)
MODEL_ERROR_RETRIES = Counter(
    "image_classification_model_error_retries",
    "Requests that failed because the model raised on their batch, by what their retry did: answered "
    "(another request's input made it raise), failed again (its own input does), or no turn (it "
    "waited too long behind other retries, and failed).",
    ["outcome"],
)
TENSOR_TRANSFERS = Counter(
    "image_classification_tensor_transfers",
    "Input tensors sent to Triton, by how: shared_memory (a region Triton maps) or grpc (inside the request).",
    ["via"],
)
