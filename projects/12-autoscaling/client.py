"""Stream an answer from the service, and say how long it waited for a replica.

    python client.py "Why do LLM replicas start slowly?"
    python client.py --url http://localhost:8000 --max-tokens 64 "Hello"

On the first request after an idle period, the wait includes starting a replica (a cold start)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx


# --8<-- [start:stream]
def stream_answer(url: str, question: str, max_tokens: int) -> tuple[str, float, float]:
    """The answer's text, the seconds to its first token, and the seconds in all."""
    body = {"messages": [{"role": "user", "content": question}], "max_tokens": max_tokens, "stream": True}
    started, first, parts = time.monotonic(), None, []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=300) as answer:
        if answer.status_code != 200:
            problem = json.loads(answer.read())
            raise SystemExit(f"{answer.status_code} {problem['type']}: {problem['detail']}")
        event = "message"
        for line in answer.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and line != "data: [DONE]":
                data = json.loads(line.removeprefix("data: "))
                if event == "error":
                    raise SystemExit(f"the answer broke off: {data['error']['message']}")
                token = data["choices"][0]["delta"].get("content") or ""
                if token and first is None:
                    first = time.monotonic() - started
                parts.append(token)
    return "".join(parts), first or 0.0, time.monotonic() - started


# --8<-- [end:stream]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    text, first, total = stream_answer(args.url.rstrip("/"), args.question, args.max_tokens)
    print(text.strip())
    print(f"first token after {first:.2f} s, done after {total:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
