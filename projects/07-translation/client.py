"""Translate a short text now, or a whole file as a job: the smallest complete client.

    python client.py "Your password has expired."          [--url http://127.0.0.1:8000]
    python client.py --file guide.md [--engine apertium]   (.txt, .md, .html, .po)

A text prints each segment's translation, its engine, and whether the memory answered it. A file is
uploaded, followed until the job is done, and the translation is downloaded from S3 (a presigned
URL) and printed. Needs httpx (pip install httpx). Errors come back as problem+json (RFC 9457).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx


def check(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [start:document]
def translate_file(url: str, path: Path, engine: str | None = None, timeout_s: float = 600) -> str:
    """Upload the file as a job, poll its progress, download the translation when it is done."""
    params = {"filename": path.name, **({"engine": engine} if engine else {})}
    with httpx.Client(base_url=url, timeout=30) as client:
        job = check(client.post("/v1/documents", params=params, content=path.read_bytes()))
        deadline = time.monotonic() + timeout_s
        while job["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise SystemExit(f"job {job['id']} not done after {timeout_s} s")
            time.sleep(1)
            job = check(client.get(f"/v1/jobs/{job['id']}"))
            print(f"{job['status']}: {job['segments_done']}/{job['segments_total']} segments")
        if job["status"] != "done":
            raise SystemExit(f"job {job['id']} failed: {job['error']}")
        return httpx.get(job["download_url"], timeout=30).raise_for_status().text


# --8<-- [end:document]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", help="a short text to translate now")
    parser.add_argument("--file", type=Path, help="a .txt, .md, .html or .po file to translate as a job")
    parser.add_argument("--engine", choices=["apertium", "neural"], help="default: the service's routing policy")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    if args.file:
        print(translate_file(args.url, args.file, args.engine), end="")
        return
    if not args.text:
        parser.error("give a text or --file")
    with httpx.Client(base_url=args.url, timeout=120) as client:
        answer = check(client.post("/v1/translate", json={"text": args.text, "engine": args.engine}))
    for segment in answer["segments"]:
        how = "memory" if segment["cached"] else segment["engine"] + (" (fallback)" if segment["fallback"] else "")
        print(f"{segment['translation']}    [{how}]")


if __name__ == "__main__":
    main()
