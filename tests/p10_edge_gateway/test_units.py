"""The pure parts: bundle signatures, device signatures, the outbox's bound, MQTT parsing, backoff,
image limits. No gateway process needed."""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from edge_gateway.bundles import BundleRefused, sign, verify_envelope, verify_model_file
from edge_gateway.devices import BadSignature, Devices, UnknownDevice, signature
from edge_gateway.images import ImageTooLarge, InvalidImage, decode
from edge_gateway.mqtt_ingest import MalformedMessage, parse
from edge_gateway.settings import Settings
from edge_gateway.store import Result, StorageUnavailable, Store
from edge_gateway.sync import Forwarder, RetryLater

from .conftest import device_client


def manifest(data: bytes = b"model bytes") -> dict:
    import hashlib

    return {"version": "v9", "model_sha256": hashlib.sha256(data).hexdigest(), "model_bytes": len(data)}


def test_a_signed_manifest_verifies_only_with_its_key_and_unchanged():
    key = Ed25519PrivateKey.generate()
    envelope = sign(manifest(), key)
    assert verify_envelope(envelope, key.public_key()).version == "v9"
    with pytest.raises(BundleRefused, match="signature"):
        verify_envelope(envelope, Ed25519PrivateKey.generate().public_key())
    tampered = {**envelope, "manifest": {**envelope["manifest"], "version": "v10"}}
    with pytest.raises(BundleRefused, match="signature"):
        verify_envelope(tampered, key.public_key())
    for broken in (
        {},
        {"manifest": {}, "signature": "***"},
        {"manifest": manifest(), "signature": base64.b64encode(b"x").decode()},
    ):
        with pytest.raises(BundleRefused):
            verify_envelope(broken, key.public_key())


def test_the_model_file_must_be_the_one_the_manifest_names(tmp_path: Path):
    key = Ed25519PrivateKey.generate()
    checked = verify_envelope(sign(manifest(b"model bytes"), key), key.public_key())
    good = tmp_path / "good.onnx"
    good.write_bytes(b"model bytes")
    verify_model_file(good, checked)
    good.write_bytes(b"model")
    with pytest.raises(BundleRefused, match="truncated"):
        verify_model_file(good, checked)
    good.write_bytes(b"MODEL BYTES")
    with pytest.raises(BundleRefused, match="SHA-256"):
        verify_model_file(good, checked)


def test_device_signatures_bind_device_time_and_image():
    devices = Devices({"cam": "k1"})
    good = signature("k1", "cam", "2026-01-01T00:00:00+00:00", "ab" * 32)
    devices.check("cam", "2026-01-01T00:00:00+00:00", "ab" * 32, good)
    assert device_client.signed("cam", "k1", b"x", "t")["X-Signature"] == signature(
        "k1", "cam", "t", "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    )  # the reader's client signs as the gateway checks
    with pytest.raises(UnknownDevice):
        devices.check("other", "2026-01-01T00:00:00+00:00", "ab" * 32, good)
    for changed in (("cam", "2026-01-01T00:00:01+00:00", "ab" * 32), ("cam", "2026-01-01T00:00:00+00:00", "cd" * 32)):
        with pytest.raises(BadSignature):
            devices.check(*changed, good)


def result(i: int, device: str = "cam", hour: str = "10", label: str = "cat") -> Result:
    return Result(
        str(uuid.UUID(int=i)),
        device,
        f"2026-12-01T{hour}:{i % 60:02d}:00+00:00",
        "now",
        "h",
        1,
        label,
        0.9,
        "v1",
        False,
    )


def test_a_full_outbox_summarises_its_oldest_results_and_loses_no_count(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite3")
    for i in range(120):
        store.accept(result(i, label="cat" if i % 3 else "dog", hour="10" if i < 60 else "11"))
    summarised = store.bound_outbox(100)
    assert summarised > 20 and store.outbox_size() <= 100
    entries = store.oldest(1000)
    kinds = [kind for _, kind, _, _ in entries]
    counted = sum(payload["count"] for _, kind, _, payload in entries if kind == "summary")
    assert counted == summarised and kinds.count("result") + counted == 120
    assert store.result(str(uuid.UUID(int=0))) is not None  # the full row stays on the box
    assert store.bound_outbox(100) == 0  # within bounds: nothing more to do


def test_the_result_cache_and_outbox_are_one_transaction(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite3")
    store.accept(result(1))
    with pytest.raises(StorageUnavailable):
        store.accept(result(1))  # the same id again: refused as a whole
    assert store.outbox_size() == 1 and store.cached("h", "v1") == (1, "cat", 0.9)


def test_the_cache_holds_only_what_it_may_and_forgets_the_least_recently_used(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite3")
    store.accept(result(1), cache=False)
    assert store.cached("h", "v1") is None and store.outbox_size() == 1  # stored and queued, not cached
    for i, used in enumerate(("10:00", "10:02", "10:01")):
        r = result(10 + i)
        store.accept(
            Result(r.id, r.device_id, r.captured_at, f"2026-12-01T{used}", f"h{i}", 1, "cat", 0.9, "v1", False)
        )
    store.trim_cache(2)
    assert [store.cached(f"h{i}", "v1") is not None for i in range(3)] == [False, True, True]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("devices/cam/image", b"{}"),
        ("devices//images", b"{}"),
        ("devices/cam/images", b"not json"),
        ("devices/cam/images", json.dumps({"captured_at": "t", "signature": "s"}).encode()),
        ("devices/cam/images", json.dumps({"captured_at": "t", "signature": "s", "image_b64": "***"}).encode()),
        ("devices/cam/images", b"[1, 2]"),
    ],
)
def test_malformed_mqtt_messages_are_refused(topic, payload):
    with pytest.raises(MalformedMessage):
        parse(topic, payload)


def test_a_good_mqtt_message_parses():
    body = {"captured_at": "t", "signature": "s", "image_b64": base64.b64encode(b"img").decode()}
    incoming = parse("devices/cam-1/images", json.dumps(body).encode())
    assert (incoming.device_id, incoming.image, incoming.channel) == ("cam-1", b"img", "mqtt")


def test_backoff_grows_with_full_jitter_and_obeys_retry_after(tmp_path: Path):
    settings = Settings(data_dir=str(tmp_path), sync_interval_s=1, backoff_max_s=30)
    forwarder = Forwarder(settings, Store(tmp_path / "db.sqlite3"))
    for failures, ceiling in ((0, 1), (3, 8), (10, 30)):
        forwarder.failures = failures
        waits = [forwarder.backoff(RetryLater("unreachable", "x")) for _ in range(300)]
        assert all(0 <= w <= ceiling for w in waits) and max(waits) > ceiling * 0.8
    assert forwarder.backoff(RetryLater("status", "429", after_s=7)) == 7
    assert forwarder.backoff(RetryLater("status", "429", after_s=900)) == 30


def test_image_limits():
    with pytest.raises(InvalidImage):
        decode(b"GIF89a broken", 10_000_000)
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, "PNG")
    with pytest.raises(ImageTooLarge):
        decode(bomb.getvalue(), 1_000_000)
    small = io.BytesIO()
    Image.new("RGB", (10, 10)).save(small, "PNG")
    assert decode(small.getvalue(), 1_000_000).size == (10, 10)
