"""Request and response shapes, with the examples shown in the OpenAPI page."""

from __future__ import annotations

from pydantic import BaseModel, Field, JsonValue

PREDICTION_EXAMPLE: list[JsonValue] = [
    {"class_id": 285, "label": "Egyptian cat", "score": 0.62},
    {"class_id": 281, "label": "tabby", "score": 0.17},
    {"class_id": 282, "label": "tiger cat", "score": 0.12},
]


class Prediction(BaseModel):
    class_id: int = Field(description="ImageNet-1k class index, 0-999.")
    label: str = Field(description="Human-readable class name.")
    score: float = Field(description="Softmax probability.", ge=0, le=1)


class ModelRef(BaseModel):
    name: str
    version: str


class Timings(BaseModel):
    decode_ms: float = Field(description="Decoding the upload(s), in a worker thread.")
    preprocess_ms: float = Field(description="Resize, crop and normalise into the model tensor.")
    inference_ms: float = Field(description="The Triton call: queueing, batching, compute, transfer.")
    total_ms: float = Field(description="Everything inside the handler.")


class Answer(BaseModel):
    """What every classification answer carries besides its predictions."""

    model: ModelRef
    timings: Timings


class ClassifyResponse(Answer):
    predictions: list[Prediction]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "model": {"name": "efficientnet_lite0", "version": "1"},
                    "predictions": PREDICTION_EXAMPLE,
                    "timings": {"decode_ms": 2.1, "preprocess_ms": 3.4, "inference_ms": 21.7, "total_ms": 27.9},
                }
            ]
        }
    }


class ImageResult(BaseModel):
    filename: str | None
    predictions: list[Prediction]


class BatchClassifyResponse(Answer):
    results: list[ImageResult]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "model": {"name": "efficientnet_lite0", "version": "1"},
                    "results": [
                        {"filename": "chelsea.jpg", "predictions": PREDICTION_EXAMPLE[:1]},
                        {
                            "filename": "coffee.jpg",
                            "predictions": [{"class_id": 967, "label": "espresso", "score": 0.71}],
                        },
                    ],
                    "timings": {"decode_ms": 4.0, "preprocess_ms": 6.9, "inference_ms": 38.2, "total_ms": 49.6},
                }
            ]
        }
    }


class HealthStatus(BaseModel):
    status: str = Field(examples=["ok"])
