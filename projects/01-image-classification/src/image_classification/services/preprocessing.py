"""Bytes in, model tensor out: decode an upload and shape it the way EfficientNet-Lite0 expects."""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SIZE = 224
RESIZE_TO = 256  # shorter side before the centre crop (224 / 0.875), as in ImageNet evaluation
TENSOR_SHAPE = (3, IMAGE_SIZE, IMAGE_SIZE)  # one image as the model takes it: channels, height, width
IMAGE_TENSOR_BYTES = 4 * 3 * IMAGE_SIZE * IMAGE_SIZE  # float32
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"}


class InvalidImage(ValueError):
    """The bytes are not a decodable image of an accepted format."""


class ImageTooLarge(ValueError):
    """The image decodes to more pixels than the service accepts."""


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode and fully load an image, refusing decompression bombs and unknown formats."""
    if not data:
        raise InvalidImage("the file is empty")
    try:
        # Opening reads only the header, so the size check below runs before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage("the file is not an image this service can read") from exc
    if image.width * image.height > max_pixels:
        raise ImageTooLarge(f"{image.width}x{image.height} pixels is more than the {max_pixels} accepted")
    if image.format not in ACCEPTED_FORMATS:
        raise InvalidImage(f"image format {image.format} is not accepted")
    try:
        image.load()  # a truncated or corrupt file fails here, not later
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"the image is corrupt or truncated: {exc}") from exc
    return image


# --8<-- [start:preprocess]
def center_crop(image: Image.Image) -> np.ndarray:
    """RGB, shorter side to 256, centre crop 224x224: uint8, height x width x channels."""
    image = image.convert("RGB")
    scale = RESIZE_TO / min(image.size)
    resized = image.resize(
        (max(IMAGE_SIZE, round(image.width * scale)), max(IMAGE_SIZE, round(image.height * scale))),
        Image.Resampling.BILINEAR,
    )
    left = (resized.width - IMAGE_SIZE) // 2
    top = (resized.height - IMAGE_SIZE) // 2
    return np.asarray(resized.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE)))


def to_model_input(image: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
    """The crop as the model takes it: CHW float32 scaled as (x - 127) / 128. Written into ``out``
    when given (one image's slot in a batch), so the 600 KB tensor is allocated once, not per step."""
    pixels = center_crop(image).transpose(2, 0, 1)  # CHW view of the uint8 crop, no copy
    out = np.empty(pixels.shape, np.float32) if out is None else out
    np.subtract(pixels, np.float32(127.0), out=out, dtype=np.float32)
    out /= np.float32(128.0)
    return out


# --8<-- [end:preprocess]


@dataclass(frozen=True)
class ModelBatch:
    tensor: np.ndarray  # N x 3 x 224 x 224 float32
    decode_ms: float
    preprocess_ms: float


# --8<-- [start:prepare]
def prepare_batch(uploads: list[bytes], max_pixels: int) -> ModelBatch:
    """Every upload decoded and shaped into one model batch: the CPU work of a request, done in one
    call so that the service hands it to a worker thread once (each hop to a thread and back costs
    a wake-up of the event loop, about as much as a small image's decode)."""
    started = time.perf_counter()
    images = [decode_image(data, max_pixels) for data in uploads]
    decoded = time.perf_counter()
    tensor = np.empty((len(images), *TENSOR_SHAPE), np.float32)
    for image, slot in zip(images, tensor, strict=True):
        to_model_input(image, out=slot)
    return ModelBatch(tensor, (decoded - started) * 1000, (time.perf_counter() - decoded) * 1000)


# --8<-- [end:prepare]
