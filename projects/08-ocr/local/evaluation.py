"""The accuracy test set and how it is scored.

* Rendered pages: lines of our own text (evaluation/lines.txt) drawn in six fonts that ship with
  matplotlib, at four sizes, tilted, turned upside down, blurred, noised and JPEG-compressed; the
  truth is the text that was drawn. Made afresh from a fixed seed, identical on every machine
  that has the same fonts.
* Photos: scikit-image's ``page`` (a photographed book page) and ``text`` (handwriting), with
  hand transcriptions (evaluation/transcriptions.yaml).

Scores: character error rate (edit distance over the truth's length; lines joined by spaces,
runs of whitespace collapsed) and word accuracy (1 - word error rate, at least 0). Tesseract on
the same images is the baseline."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import skimage.data
import yaml
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from rapidfuzz.distance import Levenshtein

PROJECT_DIR = Path(__file__).resolve().parents[1]
LINES = (PROJECT_DIR / "evaluation" / "lines.txt").read_text().splitlines()
TRANSCRIPTIONS = yaml.safe_load((PROJECT_DIR / "evaluation" / "transcriptions.yaml").read_text())
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "STIXGeneral.ttf",
)
SIZES = (16, 22, 30, 40)  # pixels
TILTS = (0.0, 0.0, 2.0, -3.0, 5.0, 180.0)  # degrees; 180 is a page scanned upside down
BLURS = (0.0, 0.0, 1.0, 1.5)  # Gaussian radius, pixels
NOISE = (0.0, 8.0, 16.0)  # standard deviation of added grey noise
JPEG_QUALITY = (None, None, 90, 50, 25)  # None: PNG


@dataclass(frozen=True)
class Sample:
    name: str
    image: bytes  # PNG or JPEG
    truth: list[str]  # lines in reading order
    conditions: dict


def rendered_samples(count: int = 110) -> list[Sample]:
    """``count`` pages of 1 to 3 lines, each condition drawn independently from a generator seeded
    with the page's number (so they combine freely, and page i is the same on every machine)."""
    return [_render(i) for i in range(count)]


def _render(i: int) -> Sample:
    rng = np.random.default_rng(1000 + i)
    n_lines = 1 + i % 3
    truth = [LINES[(i * 7 + k) % len(LINES)] for k in range(n_lines)]
    font_name, size = FONTS[rng.integers(len(FONTS))], SIZES[rng.integers(len(SIZES))]
    tilt, blur = TILTS[rng.integers(len(TILTS))], BLURS[rng.integers(len(BLURS))]
    noise, quality = NOISE[rng.integers(len(NOISE))], JPEG_QUALITY[rng.integers(len(JPEG_QUALITY))]
    font = ImageFont.truetype(str(FONT_DIR / font_name), size)
    width = max(int(font.getlength(line)) for line in truth) + 2 * size
    page = Image.new("L", (width, int(size * (1.6 * n_lines + 1.2))), 255)
    draw = ImageDraw.Draw(page)
    for k, line in enumerate(truth):
        draw.text((size, int(size * (0.6 + 1.6 * k))), line, font=font, fill=20)
    page = page.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(page, dtype=np.float64)
    if noise:
        pixels = pixels + rng.normal(0, noise, pixels.shape)
    page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    page.save(buffer, "PNG") if quality is None else page.save(buffer, "JPEG", quality=quality)
    conditions = {"font": font_name, "size": size, "tilt": tilt, "blur": blur, "noise": noise, "jpeg": quality}
    return Sample(f"rendered-{i:03d}", buffer.getvalue(), truth, conditions)


def photo_samples() -> list[Sample]:
    samples = []
    for name, truth in TRANSCRIPTIONS.items():
        buffer = io.BytesIO()
        Image.fromarray(getattr(skimage.data, name)()).convert("RGB").save(buffer, "PNG")
        samples.append(Sample(f"photo-{name}", buffer.getvalue(), truth, {"photo": name}))
    return samples


def normalised(lines: list[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


@dataclass
class Score:
    char_errors: int = 0
    chars: int = 0
    word_errors: int = 0
    words: int = 0

    def add(self, truth: list[str], read: list[str]) -> None:
        ref, hyp = normalised(truth), normalised(read)
        self.char_errors += Levenshtein.distance(ref, hyp)
        self.chars += len(ref)
        self.word_errors += Levenshtein.distance(ref.split(), hyp.split())
        self.words += len(ref.split())

    @property
    def cer(self) -> float:
        return self.char_errors / self.chars

    @property
    def word_accuracy(self) -> float:
        return max(0.0, 1 - self.word_errors / self.words)


def tesseract_lines(image: bytes) -> list[str]:
    """Tesseract 5 (Debian's tesseract-ocr, English) on the same bytes: page segmentation with
    orientation detection (--psm 1), so an upside-down page is turned as PP-OCR's classifier does."""
    with tempfile.NamedTemporaryFile(suffix=".img") as file:
        file.write(image)
        file.flush()
        done = subprocess.run(
            ["tesseract", file.name, "stdout", "-l", "eng", "--psm", "1"], capture_output=True, text=True, check=True
        )
    return [line for line in done.stdout.splitlines() if line.strip()]
