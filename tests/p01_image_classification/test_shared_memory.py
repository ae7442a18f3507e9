"""Input tensors through shared memory: used whenever Triton shares the host, never needed for an
answer (a batch too big for a slot, more requests than slots, regions Triton forgot: all go as bytes)."""

from __future__ import annotations

import asyncio

import httpx
import tritonclient.grpc as grpcclient
from study.local.image_classification.stack import SHM_SLOTS

from study.metrics_page import by_label

from .test_contract import CAT_CLASSES

TRANSFERS = "image_classification_tensor_transfers_total"


def transfers(url: str) -> dict[str, float]:
    found = by_label(f"{url}/metrics", TRANSFERS, "via")
    return {"shared_memory": found.get("shared_memory", 0.0), "grpc": found.get("grpc", 0.0)}


def sent_since(before: dict[str, float], url: str) -> dict[str, float]:
    return {via: count - before[via] for via, count in transfers(url).items()}


def regions_on_triton(grpc_url: str) -> set[str]:
    with grpcclient.InferenceServerClient(grpc_url) as triton:
        return set(triton.get_system_shared_memory_status(as_json=True).get("regions", {}))  # a map by name


def classify(client: httpx.Client, image: bytes) -> int:
    """The top class of one classification, which must succeed."""
    response = client.post("/v1/classify", files={"image": ("c.jpg", image, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]["class_id"]


def test_the_tensor_goes_through_a_region_triton_has_registered(stack, client, cat_jpeg):
    before = transfers(stack.url)
    assert classify(client, cat_jpeg) in CAT_CLASSES
    assert sent_since(before, stack.url) == {"shared_memory": 1, "grpc": 0}
    ours = {name for name in regions_on_triton(stack.triton.grpc_url) if name.startswith("image-classification-")}
    assert len(ours) == SHM_SLOTS


def test_a_batch_larger_than_a_slot_goes_inside_the_request(stack, client, cat_jpeg, coffee_jpeg):
    before = transfers(stack.url)
    response = client.post(
        "/v1/classify/batch",
        files=[("images", ("cat.jpg", cat_jpeg, "image/jpeg")), ("images", ("coffee.jpg", coffee_jpeg, "image/jpeg"))],
    )
    assert response.status_code == 200
    cat, coffee = (result["predictions"][0]["class_id"] for result in response.json()["results"])
    assert cat in CAT_CLASSES and coffee == 967  # espresso: each image's answer is its own
    assert sent_since(before, stack.url) == {"shared_memory": 0, "grpc": 1}


def test_more_requests_in_flight_than_slots_are_all_answered(stack, cat_jpeg):
    async def burst(count: int) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
            send = [
                client.post("/v1/classify", files={"image": ("c.jpg", cat_jpeg, "image/jpeg")}) for _ in range(count)
            ]
            return await asyncio.gather(*send)

    before = transfers(stack.url)
    answers = asyncio.run(burst(3 * SHM_SLOTS))
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert all(a.json()["predictions"][0]["class_id"] in CAT_CLASSES for a in answers)
    assert sum(sent_since(before, stack.url).values()) == len(answers)  # each tensor went one way, once


def test_regions_triton_lost_are_registered_again(stack, client, cat_jpeg):
    """A Triton restart forgets every registration; here they are removed through Triton's own API."""
    with grpcclient.InferenceServerClient(stack.triton.grpc_url) as triton:
        triton.unregister_system_shared_memory()
    assert not regions_on_triton(stack.triton.grpc_url)
    before = transfers(stack.url)
    assert classify(client, cat_jpeg) in CAT_CLASSES  # Triton refused the region: sent again as bytes
    assert sent_since(before, stack.url) == {"shared_memory": 0, "grpc": 1}
    assert classify(client, cat_jpeg) in CAT_CLASSES  # registered again on the way
    assert sent_since(before, stack.url) == {"shared_memory": 1, "grpc": 1}
    assert len(regions_on_triton(stack.triton.grpc_url)) == SHM_SLOTS
