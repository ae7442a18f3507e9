"""The two engines. Apertium: rule-based, a pipeline of small programs, very cheap on CPU. The
neural one: a small multilingual LLM (Gemma 3 270M, a base model) prompted with a few example
translations, served by any OpenAI-compatible completions server (llama.cpp locally). Each takes a
batch of segments whose placeholders are already swapped for tokens (placeholders.py)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path
from typing import Protocol

import httpx

PAIRS = ("en-es", "es-en")  # source-target, the pairs both engines translate
APERTIUM_MODES = {"en-es": "eng-spa", "es-en": "spa-eng"}


class EngineUnavailable(RuntimeError):
    """The engine cannot translate now (its program is missing, its server is down)."""

    def __init__(self, engine: str, reason: str):
        super().__init__(f"{engine}: {reason}")
        self.engine = engine


class Engine(Protocol):
    name: str
    version: str  # part of every translation-memory key: new weights never serve old entries

    async def translate(self, segments: list[str], pair: str) -> list[str]: ...


class Apertium:
    """``apertium -u <mode>`` once per batch, segments separated by blank lines. A single newline
    is only a space to Apertium: its transfer rules would move words from one segment into the next
    ("Download the app" / "Account deleted" came back as "Descargar la Cuenta" / "de aplicación
    eliminó"). A blank line ends a paragraph, and nothing crosses it."""

    name = "apertium"

    def __init__(self, command: str = "apertium"):
        self.command = command
        self.version = self._version()

    def _version(self) -> str:
        """The language data's own fingerprint: a new apertium-eng-spa package is a new version."""
        program = shutil.which(self.command)
        if program is None:
            return "missing"
        digest = hashlib.sha256()
        for data in sorted(Path("/usr/share/apertium/apertium-eng-spa").glob("*.bin")):
            digest.update(data.name.encode() + data.read_bytes())
        return f"apertium-eng-spa-{digest.hexdigest()[:12]}"

    async def translate(self, segments: list[str], pair: str) -> list[str]:
        text = "\n\n".join(" ".join(s.split()) for s in segments) + "\n"
        try:
            process = await asyncio.create_subprocess_exec(
                self.command,
                "-u",  # no marks on unknown words: they pass through as they are
                APERTIUM_MODES[pair],
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise EngineUnavailable(self.name, f"{self.command} is not installed") from exc
        out, err = await process.communicate(text.encode())
        if process.returncode != 0:
            raise EngineUnavailable(self.name, err.decode(errors="replace").strip()[:300])
        translated = out.decode().strip("\n").split("\n\n")
        if len(translated) != len(segments):
            raise EngineUnavailable(self.name, f"{len(segments)} segments in, {len(translated)} out")
        return [" ".join(t.split()) for t in translated]  # the pipeline doubles some spaces


# --8<-- [start:few-shot]
# Example translations the base model continues from (none is in the test sets); the second
# shows it that a ⟦n⟧ token is copied, never translated.
EXAMPLES = [
    ("Save changes", "Guardar cambios"),
    ("Hello ⟦0⟧, your order ⟦1⟧ has shipped.", "Hola ⟦0⟧, tu pedido ⟦1⟧ ha sido enviado."),
    ("The file could not be opened because it is damaged.", "No se pudo abrir el archivo porque está dañado."),
    ("Thank you for contacting our support team.", "Gracias por contactar con nuestro equipo de soporte."),
]
LANGUAGES = {"en": "English", "es": "Spanish"}


def few_shot_prompt(segment: str, pair: str) -> str:
    source, target = pair.split("-")
    shots = EXAMPLES if source == "en" else [(es, en) for en, es in EXAMPLES]
    src, tgt = LANGUAGES[source], LANGUAGES[target]
    prompt = "".join(f"{src}: {a}\n{tgt}: {b}\n\n" for a, b in shots)
    return f"{prompt}{src}: {segment}\n{tgt}:"


# --8<-- [end:few-shot]


class NeuralLLM:
    """One completion per segment: llama.cpp's server runs one request at a time, so a batch is
    sent in order (a server that batches, vLLM, would take them concurrently)."""

    name = "neural"

    def __init__(self, base_url: str, model: str, version: str, timeout_s: float = 60):
        self.version = version
        self.model = model
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def translate(self, segments: list[str], pair: str) -> list[str]:
        return [await self._one(segment, pair) for segment in segments]

    async def _one(self, segment: str, pair: str) -> str:
        body = {
            "model": self.model,
            "prompt": few_shot_prompt(segment, pair),
            "max_tokens": 16 + 3 * len(segment.split()),  # a runaway repetition ends here
            "temperature": 0,
            "stop": ["\n"],
            "repeat_penalty": 1.3,  # llama.cpp's; the small model otherwise loops ("de la red de la red")
        }
        try:
            response = await self.client.post("/completions", json=body)
            response.raise_for_status()
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            raise EngineUnavailable(self.name, str(exc) or type(exc).__name__) from exc
        return " ".join(response.json()["choices"][0]["text"].split())

    async def aclose(self) -> None:
        await self.client.aclose()
