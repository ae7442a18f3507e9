"""EfficientNet-Lite0 on Ray Serve: the same ONNX file, the same preprocessing (the service's own
module) and the same ONNX Runtime as the course's service, as a Serve deployment of two replicas.
Each replica decodes its requests in a worker thread and runs them through the model in batches
that ``@serve.batch`` gathers (up to 8, waiting at most 2 ms), like Triton's dynamic batcher.

Deploy on a running cluster (Serve keeps it after this driver exits):

    python app.py --address 127.0.0.1:6379 --http-port 8000 --model model.onnx
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import asdict

import numpy as np
import onnxruntime as ort
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from image_classification.services.classifier import softmax, top_k
from image_classification.services.preprocessing import ImageTooLarge, InvalidImage, prepare_batch

MAX_PIXELS = 40_000_000  # as the service's IMAGE_CLASSIFICATION_MAX_IMAGE_PIXELS
TOP_K = 5


# --8<-- [start:deployment]
# A replica that fails its health check for 5 s (checked every 2 s) is replaced: a hung one too.
@serve.deployment(
    num_replicas=2,
    ray_actor_options={"num_cpus": 0.5},
    max_ongoing_requests=32,
    health_check_period_s=2,
    health_check_timeout_s=5,
)
class EfficientNet:
    def __init__(self, model_path: str, threads: int = 1):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.002)
    async def infer(self, tensors: list[np.ndarray]) -> list[list[dict]]:
        (logits,) = self.session.run(None, {"input": np.concatenate(tensors)})
        return [[asdict(score) for score in top_k(row, TOP_K)] for row in softmax(logits)]

    async def __call__(self, request: Request):
        body = await request.body()
        try:  # decode and resize off the replica's event loop, as the service does
            batch = await asyncio.to_thread(prepare_batch, [body], MAX_PIXELS)
        except (InvalidImage, ImageTooLarge) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return {"predictions": await self.infer(batch.tensor)}


# --8<-- [end:deployment]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the Ray head's GCS address")
    parser.add_argument("--http-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--model", required=True, help="path of model.onnx")
    args = parser.parse_args(argv)
    ray.init(address=args.address, logging_level=logging.WARNING, log_to_driver=False)
    serve.start(http_options={"host": args.http_host, "port": args.http_port})
    serve.run(EfficientNet.bind(args.model), name="efficientnet", route_prefix="/predictions", blocking=False)


if __name__ == "__main__":
    main()
