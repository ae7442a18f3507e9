"""Build a model with a bug, for the serving comparison's "a model that raises" drill.

The graph is EfficientNet-Lite0 unchanged, plus a check that fails at run time (ONNX Runtime
raises) whenever a batch holds a blank image: one whose every pixel is near white. Every other image
gets exactly the logits of the original model. It stands for the model bug a server meets in
production: one input that makes the model fail, arriving in a batch beside other callers' inputs.
Does the server fail the whole batch, or only the request that caused it?

    python raise_on_blank.py MODEL.onnx OUTPUT.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

INPUT_NAME, OUTPUT_NAME = "input", "logits"
# The model takes (pixel - 127) / 128: a pixel of 248 or more is above 0.95 in every channel.
BLANK_ABOVE = 0.95
FAILING_NODE = "fails_on_a_blank_image"


def add_the_bug(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    for node in graph.node:  # the original output becomes an inner tensor
        node.output[:] = [f"{OUTPUT_NAME}_unchecked" if out == OUTPUT_NAME else out for out in node.output]
    graph.initializer.extend(
        numpy_helper.from_array(value, name)
        for name, value in (
            ("bug_axes", np.array([1, 2, 3], dtype=np.int64)),
            ("bug_threshold", np.array(BLANK_ABOVE, dtype=np.float32)),
            ("bug_two", np.array([2], dtype=np.int64)),
            ("bug_pair", np.zeros(2, dtype=np.float32)),
        )
    )
    graph.node.extend(
        [
            # darkest value of each image; a blank image's is near white
            helper.make_node("ReduceMin", [INPUT_NAME, "bug_axes"], ["bug_darkest"], keepdims=0),
            helper.make_node("Greater", ["bug_darkest", "bug_threshold"], ["bug_is_blank"]),
            helper.make_node("Cast", ["bug_is_blank"], ["bug_is_blank_i"], to=TensorProto.INT64),
            helper.make_node("ReduceMax", ["bug_is_blank_i"], ["bug_any_blank"], keepdims=1),  # 1 if any
            # two numbers reshaped to [2 - any]: to [1] when the batch holds a blank image, which fails
            helper.make_node("Sub", ["bug_two", "bug_any_blank"], ["bug_shape"]),
            helper.make_node("Reshape", ["bug_pair", "bug_shape"], ["bug_reshaped"], name=FAILING_NODE),
            helper.make_node("ReduceSum", ["bug_reshaped"], ["bug_zero"], keepdims=0),
            helper.make_node("Add", [f"{OUTPUT_NAME}_unchecked", "bug_zero"], [OUTPUT_NAME]),
        ]
    )
    return model


def run(model: Path, batch: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {INPUT_NAME: batch})


def check(original: Path, buggy: Path) -> None:
    """Same logits as the original for inputs that are not blank, batched; a failure for any
    batch that holds a blank image."""
    rng = np.random.default_rng(0)
    photos = rng.uniform(-1, 1, size=(3, 3, 224, 224)).astype(np.float32)
    blank = np.ones((1, 3, 224, 224), dtype=np.float32)
    (expected,) = run(original, photos)
    (got,) = run(buggy, photos)
    if not np.array_equal(expected, got):
        raise SystemExit("the model with the bug changed the logits of ordinary images")
    for batch in (blank, np.concatenate([photos[:2], blank])):
        try:
            run(buggy, batch)
        except Exception as exc:  # onnxruntime's RuntimeException
            if FAILING_NODE not in str(exc):
                raise
        else:
            raise SystemExit("the model with the bug answered a batch holding a blank image")


def main() -> None:
    source, output = Path(sys.argv[1]), Path(sys.argv[2])
    model = add_the_bug(onnx.load(source))
    onnx.checker.check_model(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial")
    onnx.save(model, partial)
    check(source, partial)
    partial.replace(output)


if __name__ == "__main__":
    main()
