"""The gateway's contract with its devices and its cloud: an image in, a class out, the result
stored and forwarded exactly once; MQTT like HTTP; repeats answered from the cache."""

from __future__ import annotations

import httpx

from polling import eventually

from .conftest import cloud_keys, device_client, frame, send


def test_an_image_over_http_is_classified_stored_and_forwarded(stack, client, cat):
    response = send(client, stack, cat)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["label"] == "Egyptian cat" and answer["class_index"] == 285 and answer["model_version"] == "v1"
    stored = client.get(f"/v1/results/{answer['result_id']}").json()
    assert stored["device_id"] == "camera-entrance" and stored["label"] == "Egyptian cat"
    assert eventually(lambda: answer["result_id"] in cloud_keys(stack), timeout_s=30)


def test_an_image_over_mqtt_is_classified_and_forwarded(stack, client, coffee):
    before = set(cloud_keys(stack))
    device_client.send_mqtt(
        f"127.0.0.1:{stack.mosquitto.port}", "camera-till", stack.device_keys["camera-till"], coffee
    )

    def arrived() -> list[str]:
        return [
            k
            for k in set(cloud_keys(stack)) - before
            if client.get(f"/v1/results/{k}").json()["device_id"] == "camera-till"
        ]

    assert eventually(lambda: len(arrived()) == 1, timeout_s=30)
    assert client.get(f"/v1/results/{arrived()[0]}").json()["label"] == "espresso"


def test_a_repeated_frame_is_answered_from_the_cache_with_the_same_answer(stack, client):
    image = frame(777)
    first, second = send(client, stack, image).json(), send(client, stack, image).json()
    assert not first["cached"] and second["cached"]
    assert (first["label"], first["score"], first["model_version"]) == (
        second["label"],
        second["score"],
        second["model_version"],
    )
    assert first["result_id"] != second["result_id"]  # each capture is its own result


def test_status_and_health(stack, client):
    status = client.get("/v1/status").json()
    active = [m["version"] for m in status["models"] if m["status"] == "active"]
    assert active == [status["model_version"]]  # exactly one active model, and it is the one serving
    assert status["storage_writable"] is True and status["outbox_entries"] >= 0
    assert httpx.get(f"{stack.url}/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json()["status"] == "ok"
    metrics = client.get("/metrics").text
    for name in (
        "edge_images_total",
        "edge_cache_total",
        "edge_outbox_entries",
        "edge_model_info",
        "edge_storage_writable",
    ):
        assert name in metrics
