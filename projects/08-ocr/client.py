"""Read the text of an image or a PDF page with the OCR API: the smallest complete client.

    python client.py scan.png [--page 2] [--url http://127.0.0.1:8000]

Needs httpx (pip install httpx). Prints the lines in reading order with the recogniser's
confidence, then the time each stage took. Errors come back as problem+json (RFC 9457): their
`type` says what went wrong, `detail` says why; a 503 carries Retry-After.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from pathlib import Path

import httpx


# --8<-- [start:read]
def read_text(url: str, file: Path, page: int = 1) -> dict:
    """POST the file as multipart form data; return the answer (lines, versions, timings)."""
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    with file.open("rb") as f:
        response = httpx.post(
            f"{url}/v1/ocr", params={"page": page}, files={"file": (file.name, f, content_type)}, timeout=60
        )
    if response.status_code != 200:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [end:read]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--page", type=int, default=1, help="For a PDF: which page (1 is the first).")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    answer = read_text(args.url, args.file, args.page)
    for line in answer["lines"]:
        print(f"{line['confidence']:.2f}  {line['text']}")
    stages = ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in answer["timings_ms"].items())
    print(f"{len(answer['lines'])} lines from {answer['width']}x{answer['height']} pixels; {stages}")


if __name__ == "__main__":
    main(sys.argv[1:])
