"""client.py, the device the project's page shows a reader, against the running gateway."""

from __future__ import annotations

from polling import eventually
from reader_client import run_client

from .conftest import cloud_keys


def test_the_client_sends_a_signed_photo_over_http(stack, tmp_path, cat):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(cat)
    done = run_client("10-edge-gateway", str(photo), "--keys", str(stack.dir / "devices.json"), "--url", stack.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Egyptian cat 0.") and ", model v" in done.stdout


def test_the_client_sends_over_mqtt(stack, tmp_path, coffee):
    photo = tmp_path / "coffee.jpg"
    photo.write_bytes(coffee)
    before = len(cloud_keys(stack))
    broker = f"127.0.0.1:{stack.mosquitto.port}"
    done = run_client(
        "10-edge-gateway",
        str(photo),
        "--device",
        "sensor-dock",
        "--keys",
        str(stack.dir / "devices.json"),
        "--mqtt",
        broker,
    )
    assert done.returncode == 0 and done.stdout.strip() == "published to devices/sensor-dock/images", done.stderr
    assert eventually(lambda: len(cloud_keys(stack)) > before, timeout_s=30)


def test_the_client_reports_a_problem(stack, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    done = run_client("10-edge-gateway", str(notes), "--key", "0" * 32, "--url", stack.url)
    assert done.returncode != 0 and "401 /problems/bad-signature" in done.stderr
