"""Move Triton from one model version to another without dropping a request, and back if it misbehaves.

Triton runs with ``--model-control-mode=explicit``. A rollout asks it to serve only the candidate
version; Triton loads the candidate *before* it unloads the version in service, and keeps the old
one if the candidate fails to load. Then the candidate classifies a golden set, images whose class
is known; one wrong answer and the previous version is loaded back.

    python -m image_classification.rollout --triton-url triton:8001 --golden golden/ 2

A golden image's file name starts with its ImageNet class id: ``967-espresso.jpg``.

The version chosen this way lives in Triton's memory only: a restarted Triton applies the
repository's own ``version_policy`` again. Make the outcome durable in the repository.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from image_classification.services.preprocessing import decode_image, to_model_input


@dataclass(frozen=True)
class Golden:
    name: str
    tensor: np.ndarray  # preprocessed exactly as the service does it
    class_id: int


@dataclass
class Outcome:
    serving: str  # the version serving traffic when the rollout ends
    promoted: bool
    reason: str
    wrong: list[str] = field(default_factory=list)  # golden images the candidate got wrong


class ModelVersions:
    """Which version of one model Triton serves, through its model-repository API."""

    def __init__(self, client: grpcclient.InferenceServerClient, model: str):
        self.client, self.model = client, model

    def states(self) -> dict[str, str]:
        """Each version Triton knows of, and its state: READY, UNLOADING, UNAVAILABLE..."""
        index = self.client.get_model_repository_index(as_json=True).get("models", [])
        return {m["version"]: m.get("state", "") for m in index if m["name"] == self.model and m.get("version")}

    def serving(self) -> list[str]:
        return sorted((version for version, state in self.states().items() if state == "READY"), key=int)

    # --8<-- [start:serve]
    def serve(self, version: str) -> None:
        """Serve only ``version``: returns once it is loaded; the others are unloaded after, in the background."""
        config = self.client.get_model_config(self.model, as_json=True)["config"]
        config["version_policy"] = {"specific": {"versions": [int(version)]}}
        self.client.load_model(self.model, config=json.dumps(config))

    # --8<-- [end:serve]

    def top_classes(self, version: str, batch: np.ndarray) -> np.ndarray:
        """Each image's top class, from exactly this version."""
        tensor = grpcclient.InferInput("input", list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch.astype(np.float32))
        result = self.client.infer(self.model, [tensor], model_version=version)
        return result.as_numpy("logits").argmax(1)


# --8<-- [start:rollout]
def roll_out(versions: ModelVersions, candidate: str, golden: list[Golden]) -> Outcome:
    """Serve ``candidate``; keep it only if it classifies every golden image correctly."""
    previous = versions.serving()[-1]
    try:
        versions.serve(candidate)
    except InferenceServerException as exc:  # Triton keeps serving the previous version
        return Outcome(previous, False, f"version {candidate} failed to load: {exc.message()}")
    answers = versions.top_classes(candidate, np.stack([image.tensor for image in golden]))
    wrong = [image.name for image, answer in zip(golden, answers, strict=False) if answer != image.class_id]
    if wrong:
        versions.serve(previous)
        return Outcome(previous, False, f"version {candidate} got golden images wrong", wrong)
    return Outcome(candidate, True, f"version {candidate} got all {len(golden)} golden images right")


# --8<-- [end:rollout]


def load_golden(folder: Path) -> list[Golden]:
    """``<class id>-<anything>.<ext>`` files, preprocessed exactly as the service does it."""
    return [
        Golden(
            path.name,
            to_model_input(decode_image(path.read_bytes(), max_pixels=40_000_000)),
            int(path.name.split("-", 1)[0]),
        )
        for path in sorted(folder.iterdir())
        if path.is_file()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("version", help="the candidate version, already in the model repository")
    parser.add_argument("--triton-url", default="triton:8001", help="Triton's gRPC address")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--golden", type=Path, required=True, help="a folder of images of known class")
    args = parser.parse_args()
    versions = ModelVersions(grpcclient.InferenceServerClient(args.triton_url), args.model)
    # --8<-- [start:exit-code]
    outcome = roll_out(versions, args.version, load_golden(args.golden))
    print(json.dumps(asdict(outcome)))
    raise SystemExit(0 if outcome.promoted else 1)  # a release job fails on a rolled-back candidate
    # --8<-- [end:exit-code]


if __name__ == "__main__":
    main()
