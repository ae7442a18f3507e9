"""Train project 11's three classifiers and export them to ONNX for Triton.

Each model is trained on a dataset that ships inside scikit-learn (no download), on a stratified
75 % split; the other 25 % is held out, scored once and written to ``metrics.json`` with the
held-out rows and scikit-learn's own answers (``held_out.json``), so that the tests can check that
Triton answers exactly as the source framework does.

    python train.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 11
# Triton name -> (dataset, class names). The shared model serves every tenant; the other two
# belong to one tenant each (the API maps a tenant's own name for them to these).
MODELS = {
    "digits": (load_digits, [str(d) for d in range(10)]),
    "acme__wine_cultivar": (load_wine, ["cultivar_1", "cultivar_2", "cultivar_3"]),
    "globex__tumour_screen": (load_breast_cancer, ["malignant", "benign"]),
}


def train(name: str, out: Path) -> dict:
    load, labels = MODELS[name]
    features, target = load(return_X_y=True)
    features = features.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=0.25, stratify=target, random_state=SEED
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=SEED))
    model.fit(x_train, y_train)
    onnx_model = to_onnx(
        model,
        x_train[:1],
        options={LogisticRegression: {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
        final_types=None,
    )
    # Triton's names: FEATURES in, PROBABILITIES out (the API takes the argmax; the label output
    # skl2onnx also writes is left out of the graph's outputs).
    graph = onnx_model.graph
    renames = {graph.input[0].name: "FEATURES", graph.output[1].name: "PROBABILITIES"}
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for value in [*graph.input, *graph.output]:
        value.name = renames.get(value.name, value.name)
    graph.output.remove(graph.output[0])
    path = out / f"{name}.onnx"
    path.write_bytes(onnx_model.SerializeToString())

    expected = model.predict(x_test)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["PROBABILITIES"], {"FEATURES": x_test})
    if not np.array_equal(probabilities.argmax(axis=1), expected.astype(int)):
        raise SystemExit(f"{name}: the ONNX export disagrees with scikit-learn on the held-out rows")
    if not np.allclose(probabilities, model.predict_proba(x_test), atol=1e-4):
        raise SystemExit(f"{name}: the ONNX probabilities differ from scikit-learn's")
    return {
        "features": int(features.shape[1]),
        "labels": labels,
        "train_rows": len(x_train),
        "held_out_rows": len(x_test),
        "accuracy": round(float(accuracy_score(y_test, expected)), 4),
        "macro_f1": round(float(f1_score(y_test, expected, average="macro")), 4),
        "held_out": {"inputs": x_test.tolist(), "truth": y_test.tolist(), "sklearn": expected.tolist()},
    }


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    results = {name: train(name, out) for name in MODELS}
    held_out = {name: result.pop("held_out") for name, result in results.items()}
    (out / "held_out.json").write_text(json.dumps(held_out))
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")  # last: means "built"
    for name, result in results.items():
        print(f"{name}: accuracy {result['accuracy']}, macro-F1 {result['macro_f1']} on {result['held_out_rows']} rows")


if __name__ == "__main__":
    main()
