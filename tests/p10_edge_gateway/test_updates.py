"""Model updates: a signed bundle that passes the golden images replaces the model atomically and
the previous one stays for a rollback; a bundle with the wrong signature, a truncated model or
wrong answers is refused, reported, and the serving model goes on serving."""

from __future__ import annotations

import json

import httpx
import numpy as np
import onnx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onnx import TensorProto, helper

from polling import eventually

from .conftest import cloud_keys, frame, send


def status(client) -> dict:
    return client.get("/v1/status").json()


def row(client, version: str) -> dict | None:
    return next((m for m in status(client)["models"] if m["version"] == version), None)


def shifted_model(source, target) -> None:
    """The same network with its classes shifted by one: loads, answers fast, and is wrong (a
    labels file off by one, the classic broken release)."""
    model = onnx.load(str(source))
    graph = model.graph
    out = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{o}_raw" if o == out else o for o in node.output]
    index = np.roll(np.arange(1000), 1).astype(np.int64)
    graph.initializer.append(helper.make_tensor("rolled", TensorProto.INT64, [1000], index.tolist()))
    graph.node.append(helper.make_node("Gather", [f"{out}_raw", "rolled"], [out], axis=1))
    onnx.save(model, str(target))


@pytest.fixture(scope="module")
def updated(stack):
    """v2: the float32 model, signed with the pinned key."""
    stack.publish("v2", stack.models / "model_fp32.onnx")
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        assert eventually(lambda: status(client)["model_version"] == "v2", timeout_s=60), status(client)
        return status(client)


def test_a_good_bundle_is_installed_and_the_previous_kept(updated, stack, client):
    assert row(client, "v2")["status"] == "active" and row(client, "v1")["status"] == "previous"
    answer = send(client, stack, frame(900)).json()
    assert answer["model_version"] == "v2" and answer["label"] == "Egyptian cat"


@pytest.mark.parametrize("case", ["wrong key", "truncated model", "wrong answers"])
def test_bad_bundles_are_refused_and_reported(updated, stack, client, tmp_path, case):
    version = f"bad-{case.replace(' ', '-')}"
    if case == "wrong key":
        stack.publish(version, stack.models / "model_int8.onnx", key=Ed25519PrivateKey.generate())
    elif case == "truncated model":
        folder = stack.publish(version, stack.models / "model_int8.onnx")
        data = (folder / "model.onnx").read_bytes()
        (folder / "model.onnx").write_bytes(data[: len(data) // 2])  # the manifest still names the whole file
    else:
        shifted_model(stack.models / "model_int8.onnx", tmp_path / "shifted.onnx")
        stack.publish(version, tmp_path / "shifted.onnx")
    assert eventually(lambda: (row(client, version) or {}).get("status") == "refused", timeout_s=60), status(client)
    reason = row(client, version)["reason"]
    expected = {
        "wrong key": "signature does not verify",
        "truncated model": "truncated",
        "wrong answers": "golden image",
    }[case]
    assert expected in reason, reason
    assert status(client)["model_version"] == "v2"  # the serving model goes on
    assert send(client, stack, frame(901 + len(case))).json()["model_version"] == "v2"
    assert eventually(
        lambda: any(k.startswith(f"refused:{version}:") for k in cloud_keys(stack, "event")), timeout_s=30
    )


def test_rollback_serves_the_previous_model(updated, stack, client):
    rolled = client.post("/v1/model/rollback").json()
    try:
        assert rolled["model_version"] == "v1"
        assert send(client, stack, frame(950)).json()["model_version"] == "v1"
    finally:
        stack.publish("v3", stack.models / "model_fp32.onnx")  # forward again, for the tests after
        assert eventually(lambda: status(client)["model_version"] == "v3", timeout_s=60)


def test_bundle_json_is_signed_data_not_code(stack):
    envelope = json.loads((stack.cloud.folder / "bundles" / "v1" / "bundle.json").read_text())
    assert set(envelope) == {"manifest", "signature"} and set(envelope["manifest"]) >= {
        "version",
        "model_sha256",
        "model_bytes",
    }
