"""What devices get wrong, or attackers try: a clear 4xx (or, over MQTT, a counted refusal), and the
gateway keeps serving."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime, timedelta

import paho.mqtt.publish as publish
from PIL import Image

from polling import eventually
from problem_details import assert_problem

from .conftest import device_client, frame, send


def test_not_an_image(stack, client):
    assert_problem(send(client, stack, b"hello, not a picture"), 422, "invalid-image")


def test_too_many_bytes_and_too_many_pixels(stack, client):
    assert_problem(send(client, stack, b"\xff" * (5 * 1024 * 1024)), 413)
    bomb = io.BytesIO()
    Image.new("L", (5000, 5000)).save(bomb, "PNG")  # 25 Mpx, a few kB compressed
    assert_problem(send(client, stack, bomb.getvalue()), 413, "image-too-large")


def test_devices_not_on_the_list_and_wrong_keys(stack, client, cat):
    assert_problem(send(client, stack, cat, device="camera-stranger"), 403, "unknown-device")
    forged = device_client.signed("camera-entrance", "f" * 32, cat)
    response = client.post("/v1/classify", files={"image": ("i.jpg", cat)}, headers=forged)
    assert_problem(response, 401, "bad-signature")
    # A valid signature for another image does not carry over.
    other = device_client.signed("camera-entrance", stack.device_keys["camera-entrance"], frame(1))
    assert_problem(client.post("/v1/classify", files={"image": ("i.jpg", cat)}, headers=other), 401, "bad-signature")


def test_bad_capture_times_and_missing_headers(stack, client, cat):
    key = stack.device_keys["camera-entrance"]
    for when in ("yesterday", "2026-12-01T10:00:00", (datetime.now(UTC) + timedelta(days=3)).isoformat()):
        headers = device_client.signed("camera-entrance", key, cat, captured_at=when)
        response = client.post("/v1/classify", files={"image": ("i.jpg", cat)}, headers=headers)
        assert_problem(response, 422, "invalid-capture-time")
    assert_problem(client.post("/v1/classify", files={"image": ("i.jpg", cat)}), 422, "validation-error")
    assert_problem(client.post("/v1/classify", headers=device_client.signed("camera-entrance", key, cat)), 422)


def mqtt_refusals(client) -> dict[str, float]:
    text = client.get("/metrics").text
    return {m: float(v) for m, v in re.findall(r'edge_images_total\{channel="mqtt",outcome="(\w+)"\} (\S+)', text)}


def test_malformed_mqtt_messages_are_counted_and_the_gateway_keeps_serving(stack, client, cat):
    broker = {"hostname": "127.0.0.1", "port": stack.mosquitto.port, "qos": 1}
    before = mqtt_refusals(client)
    publish.single("devices/camera-entrance/images", b"\x00not json", **broker)
    publish.single("devices/camera-entrance/images", json.dumps({"captured_at": "x"}), **broker)
    publish.single(
        "devices/camera-entrance/images",
        json.dumps({"captured_at": "x", "signature": "0", "image_b64": "%%%"}),
        **broker,
    )
    stranger = device_client.signed("camera-stranger", "0" * 32, cat)
    body = {
        "captured_at": stranger["X-Captured-At"],
        "signature": stranger["X-Signature"],
        "image_b64": base64.b64encode(cat).decode(),
    }
    publish.single("devices/camera-stranger/images", json.dumps(body), **broker)

    def counted() -> bool:
        now = mqtt_refusals(client)
        grew = {k: now.get(k, 0) - before.get(k, 0) for k in now}
        return grew.get("MalformedMessage", 0) >= 3 and grew.get("UnknownDevice", 0) >= 1

    assert eventually(counted, timeout_s=30), mqtt_refusals(client)
    assert send(client, stack, frame(3)).status_code == 200
