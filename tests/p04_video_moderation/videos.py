"""Test videos, encoded here with PyAV from the photos that ship in scikit-image."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data

PHOTOS = {"astronaut": data.astronaut, "coffee": data.coffee, "chelsea": data.chelsea, "rocket": data.rocket}


def photo(name: str, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    return np.asarray(Image.fromarray(PHOTOS[name]()).convert("RGB").resize(size))


def make_video(path: Path, scenes: list[tuple[str, float]], fps: int = 10, size: tuple[int, int] = (320, 240)) -> Path:
    """An MPEG-4 video showing each named photo for the given seconds, in order."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = Fraction(1, fps)
        pts = 0
        for name, seconds in scenes:
            pixels = photo(name, size)
            for _ in range(int(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = pts
                pts += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def corrupt_copy(source: Path, target: Path) -> Path:
    """Keep the container's header and index, overwrite the frames in the middle with noise: the
    API's probe accepts it, decoding fails in the worker (a poison job)."""
    raw = bytearray(source.read_bytes())
    start, end = len(raw) // 10, len(raw) * 8 // 10
    raw[start:end] = np.random.default_rng(0).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    target.write_bytes(bytes(raw))
    return target
