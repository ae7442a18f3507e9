"""Call the image classification API from Python: the smallest complete client.

    python client.py cat.jpg --top-k 3 [--url http://127.0.0.1:8000]

Needs httpx (pip install httpx). Errors come back as problem+json (RFC 9457): their `type` says
what went wrong, `detail` says why; a 503 carries Retry-After.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx


# --8<-- [start:classify]
def classify(url: str, image: Path, top_k: int = 3) -> dict:
    """POST the image as multipart form data; return the answer (model, timings, predictions)."""
    with image.open("rb") as f:
        response = httpx.post(
            f"{url}/v1/classify", params={"top_k": top_k}, timeout=30, files={"image": (image.name, f, "image/jpeg")}
        )
    if response.status_code != 200:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [end:classify]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    answer = classify(args.url, args.image, args.top_k)
    print(f"{answer['model']['name']} version {answer['model']['version']}:")
    for prediction in answer["predictions"]:
        print(f"  {prediction['score']:.3f}  {prediction['label']}")


if __name__ == "__main__":
    main(sys.argv[1:])
