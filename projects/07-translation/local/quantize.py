"""Run by llama.cpp's own environment (local/stack.py): ``python quantize.py SOURCE TARGET TYPE``.

llama.cpp's quantizer writes TARGET from SOURCE at TYPE ("f32", "q8_0", "q4_0"). The weights that
ship are Q4_K_M; "f32" dequantizes them once (the reference: no further loss), and every other
precision is made from that one f32 export, so the builds differ by their precision alone."""

from __future__ import annotations

import sys

import llama_cpp

TYPES = {
    "f32": llama_cpp.LLAMA_FTYPE_ALL_F32,
    "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
}


def main(source: str, target: str, kind: str) -> None:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = TYPES[kind]
    params.allow_requantize = True  # the source is itself quantized (Q4_K_M, or the f32 made from it)
    params.nthread = 2
    if llama_cpp.llama_model_quantize(source.encode(), target.encode(), params) != 0:
        raise SystemExit(f"llama.cpp could not write {target} at {kind}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
