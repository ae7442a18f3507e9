"""Triton's response cache: an input tensor seen before is answered without running the model.

What the tests pin down is where the cache sits: below the API's decode and resize (the key is the
tensor, so the same pixels saved differently are a miss) and above its postprocessing (top_k does
not split entries). The rollout tests check that a new version never answers from an older one's
entries."""

from __future__ import annotations

import httpx
import skimage.data
from study.local.image_classification.stack import chelsea_crops

from .conftest import jpeg_bytes
from .test_batching import triton_counter


def classify(client: httpx.Client, image: bytes, top_k: int = 5) -> dict:
    response = client.post("/v1/classify", params={"top_k": top_k}, files={"image": ("c.jpg", image, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()


def counters(stack) -> dict[str, float]:
    text = httpx.get(stack.triton.metrics_url).text
    return {
        name: triton_counter(text, name)
        for name in ("nv_cache_num_hits_per_model", "nv_cache_num_misses_per_model", "nv_inference_count")
    }


def changes(stack, before: dict[str, float]) -> tuple[float, float, float]:
    """(hits, misses, model inferences) since ``before``."""
    after = counters(stack)
    return tuple(after[name] - before[name] for name in before)


# --8<-- [start:cache-test]
def test_a_repeated_image_is_answered_from_the_cache_without_the_model(stack, client):
    [image] = chelsea_crops(1000, 1)  # an image no other test sends
    before = counters(stack)
    first = classify(client, image)
    assert changes(stack, before) == (0, 1, 1)  # a miss: the model ran once

    before = counters(stack)
    second = classify(client, image)
    assert changes(stack, before) == (1, 0, 0)  # a hit: the model did not run
    assert second["predictions"] == first["predictions"]
    assert second["model"] == first["model"]


# --8<-- [end:cache-test]


def test_top_k_is_applied_after_the_cache_so_it_shares_entries(stack, client):
    [image] = chelsea_crops(1001, 1)
    five = classify(client, image, top_k=5)
    before = counters(stack)
    two = classify(client, image, top_k=2)
    assert changes(stack, before) == (1, 0, 0)
    assert two["predictions"] == five["predictions"][:2]


def test_the_same_pixels_saved_at_another_jpeg_quality_are_a_miss(stack, client):
    """The key is the decoded tensor: a re-encoded photo is a new input to the cache."""
    pixels = skimage.data.chelsea()[40:320, 40:440]
    classify(client, jpeg_bytes(pixels, quality=95))
    before = counters(stack)
    classify(client, jpeg_bytes(pixels, quality=80))
    assert changes(stack, before) == (0, 1, 1)
