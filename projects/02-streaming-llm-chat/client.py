"""Chat with the streaming API from Python: print the answer as it is generated.

    python client.py "What is the capital of France?" [--conversation demo] [--url http://127.0.0.1:8000]

Needs httpx and httpx-sse (pip install httpx httpx-sse). The answer arrives as Server-Sent Events:
`token` events with a piece of text, then one `done` event with the usage and timings (or an
`error` event if the LLM server failed mid-answer). Refusals before the stream starts are
problem+json: a 429 (busy) carries Retry-After.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

import httpx
from httpx_sse import connect_sse


# --8<-- [start:chat]
def chat(url: str, conversation: str, content: str, max_tokens: int = 256) -> Iterator[tuple[str, dict]]:
    """Send one message; yield (event, data) as the server streams them."""
    path = f"{url}/v1/conversations/{conversation}/messages"
    body = {"content": content, "max_tokens": max_tokens}
    with httpx.Client(timeout=120) as client, connect_sse(client, "POST", path, json=body) as source:
        if source.response.status_code != 200:
            source.response.read()
            problem = source.response.json()  # problem+json: type, status, detail
            raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
        for event in source.iter_sse():
            yield event.event, json.loads(event.data)


# --8<-- [end:chat]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content")
    parser.add_argument("--conversation", default="demo")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    for event, data in chat(args.url, args.conversation, args.content, args.max_tokens):
        if event == "token":
            print(data["text"], end="", flush=True)
        elif event == "done":
            print(f"\n[{data['usage']['completion_tokens']} tokens, first after {data['timings']['ttft_ms']:.0f} ms]")
        elif event == "error":
            raise SystemExit(f"\n{data['type']}: {data['detail']}")


if __name__ == "__main__":
    main(sys.argv[1:])
