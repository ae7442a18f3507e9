"""Bytes in, pixels out: an uploaded image or one page of a PDF, decoded with the limits that keep a
hostile file from taking the service down (decompression bombs, huge pixel counts)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"}
PDF_MAGIC = b"%PDF-"


class InvalidImage(ValueError):
    """The bytes are not a readable image or PDF page."""


class ImageTooLarge(ValueError):
    """The image (or rendered page) has more pixels than the service accepts."""


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """An RGB image as uint8 [height, width, 3], EXIF orientation applied."""
    if not data:
        raise InvalidImage("the file is empty")
    try:
        # Opening reads only the header: the size check runs before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage("the file is not an image or PDF this service can read") from exc
    if image.width * image.height > max_pixels:
        raise ImageTooLarge(f"{image.width}x{image.height} pixels is more than the {max_pixels} accepted")
    if image.format not in ACCEPTED_FORMATS:
        raise InvalidImage(f"image format {image.format} is not accepted")
    try:
        image.load()  # a truncated or corrupt file fails here, not later
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"the image is corrupt or truncated: {exc}") from exc
    return np.asarray(upright.convert("RGB"))


def render_pdf_page(data: bytes, page_number: int, dpi: int, max_pixels: int) -> np.ndarray:
    """One page of a PDF (1-based), rendered by PDFium at ``dpi``, as RGB uint8."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise InvalidImage(f"the PDF cannot be read: {exc}") from exc
    try:
        if not 1 <= page_number <= len(document):
            raise InvalidImage(f"page {page_number} asked for; the PDF has {len(document)} page(s)")
        page = document[page_number - 1]
        width_pt, height_pt = page.get_size()
        scale = dpi / 72
        if width_pt * scale * height_pt * scale > max_pixels:
            raise ImageTooLarge(
                f"page {page_number} at {dpi} dpi is {round(width_pt * scale)}x{round(height_pt * scale)} "
                f"pixels, more than the {max_pixels} accepted"
            )
        return np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
    finally:
        document.close()


def decode_upload(data: bytes, page: int, dpi: int, max_pixels: int) -> np.ndarray:
    """An image file, or page ``page`` of a PDF."""
    if is_pdf(data):
        return render_pdf_page(data, page, dpi, max_pixels)
    if page != 1:
        raise InvalidImage(f"page {page} asked for, but the file is an image, not a PDF")
    return decode_image(data, max_pixels)
