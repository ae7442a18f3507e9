"""Image bytes from a device -> the model's input, with the limits that keep a hostile file out."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

SIZE = 224


class InvalidImage(ValueError):
    """Not an image the gateway can decode."""


class ImageTooLarge(ValueError):
    """More pixels than the gateway unpacks (a decompression bomb, or simply too big)."""


def decode(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:  # from the header, before any pixel is decoded
                raise ImageTooLarge(f"{image.width}x{image.height} pixels; at most {max_pixels} are accepted")
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(str(exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageTooLarge):
            raise
        raise InvalidImage(f"not an image the gateway can read ({type(exc).__name__})") from None
    return image.convert("RGB")


# --8<-- [start:preprocess]
def to_model_input(image: Image.Image) -> np.ndarray:
    """224 x 224, channels first, scaled as EfficientNet-Lite was trained: (x - 127) / 128."""
    pixels = np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BILINEAR), dtype=np.float32)
    return ((pixels - 127.0) / 128.0).transpose(2, 0, 1)


# --8<-- [end:preprocess]
