"""Rebuild a model's tokenizer (tokenizer.json) from the vocabulary and merges inside its GGUF file,
so that a service can count tokens exactly as the model does without loading the model."""

from __future__ import annotations

from pathlib import Path

from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def _strings(reader: GGUFReader, key: str) -> list[str]:
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def write_tokenizer_json(gguf_file: Path, output: Path) -> Path:
    reader = GGUFReader(str(gguf_file))
    model_type = bytes(reader.fields["tokenizer.ggml.model"].parts[-1]).decode()
    if model_type != "gpt2":
        raise ValueError(f"{gguf_file.name}: tokenizer type {model_type!r}; only byte-level BPE (gpt2) here")
    tokens = _strings(reader, "tokenizer.ggml.tokens")
    merges = [(left, right) for left, right in (m.split(" ", 1) for m in _strings(reader, "tokenizer.ggml.merges"))]
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    output.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(output))
    return output
