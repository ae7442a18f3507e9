"""Video -> sampled frames -> the tensors open_nsfw was trained on."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

RESIZE, CROP = 256, 224
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # the Caffe training set's channel means


class UnreadableVideo(ValueError):
    """The file is not a video this service can decode (corrupt, truncated, unsupported)."""


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class Frame:
    index: int  # position among the sampled frames
    time_s: float  # timestamp in the video
    image: Image.Image


def probe(path: Path) -> VideoInfo:
    """Read the container header only: cheap enough for the API to check limits before accepting."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnreadableVideo("the file has no video stream")
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                raise UnreadableVideo("the video does not say how long it is")
            codec = stream.codec_context
            return VideoInfo(duration, codec.width, codec.height, codec.name)
    except av.FFmpegError as exc:
        raise UnreadableVideo(f"not a readable video: {exc}") from exc


# --8<-- [start:sample]
def sample_frames(path: Path, fps: float) -> Iterator[Frame]:
    """Decode the video and keep one frame every 1/fps seconds (the first frame at or after each tick)."""
    interval, next_tick, index = 1.0 / fps, 0.0, 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.time is None or frame.time + 1e-6 < next_tick:
                    continue
                yield Frame(index, float(frame.time), frame.to_image())
                index += 1
                next_tick += interval
                while next_tick <= frame.time:  # a gap in the video: skip the ticks it covered
                    next_tick += interval
    except av.FFmpegError as exc:
        raise UnreadableVideo(f"decoding failed after {index} sampled frames: {exc}") from exc


# --8<-- [end:sample]


# --8<-- [start:preprocess]
def preprocess(image: Image.Image) -> np.ndarray:
    """The input pipeline open_nsfw was trained with (Caffe, JPEG files): resize to 256x256, a JPEG
    round trip (its artefacts are part of what the model learned), centre crop 224, RGB -> BGR,
    minus the channel means. Returns [224, 224, 3] float32."""
    resized = image.convert("RGB").resize((RESIZE, RESIZE), resample=Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")
    buffer.seek(0)
    pixels = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32)
    top = (RESIZE - CROP) // 2
    crop = pixels[top : top + CROP, top : top + CROP, :]
    return np.ascontiguousarray(crop[:, :, ::-1] - BGR_MEAN)


# --8<-- [end:preprocess]
