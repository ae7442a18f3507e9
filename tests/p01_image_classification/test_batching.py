"""Triton's dynamic batcher merges concurrent requests: fewer executions than inferences."""

from __future__ import annotations

import asyncio
import re

import httpx
from study.local.image_classification.stack import chelsea_crops


def triton_counter(metrics_text: str, name: str, model: str = "efficientnet_lite0") -> float:
    pattern = rf'^{name}{{[^}}]*model="{model}"[^}}]*}} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, metrics_text, flags=re.MULTILINE))


async def classify_concurrently(base_url: str, images: list[bytes]) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(image: bytes):
            response = await client.post("/v1/classify", files={"image": ("c.jpg", image, "image/jpeg")})
            return response.status_code

        return await asyncio.gather(*(one(image) for image in images))


# --8<-- [start:batching-test]
def test_concurrent_requests_share_executions(stack):
    images = chelsea_crops(0, 48)  # 48 different images: a repeat would be a response-cache hit
    before = httpx.get(stack.triton.metrics_url).text
    statuses = asyncio.run(classify_concurrently(stack.url, images))
    after = httpx.get(stack.triton.metrics_url).text

    assert statuses == [200] * 48
    inferences = triton_counter(after, "nv_inference_count") - triton_counter(before, "nv_inference_count")
    executions = triton_counter(after, "nv_inference_exec_count") - triton_counter(before, "nv_inference_exec_count")
    assert inferences == 48
    assert executions < inferences, f"{executions} executions for {inferences} inferences: no batching"


# --8<-- [end:batching-test]
