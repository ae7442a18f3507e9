"""Ask the course a question from Python: the sources first, then the answer as it arrives.

    python client.py "What is dynamic batching?" [--url http://127.0.0.1:8000]

Needs httpx and httpx-sse (pip install httpx httpx-sse). The answer arrives as Server-Sent Events:
one `citations` event (the numbered sources the answer may cite), `token` events, then `done` with
the mode (`extracted`: sentences quoted from the sources, the default; `generated` when the service
lets the LLM write; `retrieval_only` when a model is down; `not_covered` when the course has nothing
on it) and the time each stage took.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

import httpx
from httpx_sse import connect_sse


# --8<-- [start:ask]
def ask(url: str, question: str) -> Iterator[tuple[str, dict]]:
    """POST the question; yield (event, data) as the server streams them."""
    body = {"question": question}
    with httpx.Client(timeout=120) as client, connect_sse(client, "POST", f"{url}/v1/ask", json=body) as source:
        if source.response.status_code != 200:
            source.response.read()
            problem = source.response.json()  # problem+json: type, status, detail
            raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
        for event in source.iter_sse():
            yield event.event, json.loads(event.data)


# --8<-- [end:ask]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    for event, data in ask(args.url, args.question):
        if event == "citations":
            for citation in data["citations"]:
                print(f"[{citation['number']}] {citation['source']} - {citation['heading']}")
            print()
        elif event == "token":
            print(data["text"], end="", flush=True)
        elif event == "done":
            print(f"\n[{data['mode']}; " + ", ".join(f"{k} {v:.0f} ms" for k, v in data["timings_ms"].items()) + "]")


if __name__ == "__main__":
    main(sys.argv[1:])
