"""Send an email to the assistant and follow it: the smallest complete client.

    python client.py message.eml [--url http://127.0.0.1:8000] [--approve]

Uploads the raw message, waits until the assistant has finished with it (a draft waiting for a
person, or filed, or escalated), prints each step of its decision log, and with --approve sends
the draft. Needs httpx (pip install httpx). Errors come back as problem+json (RFC 9457).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx

BUSY = {"queued", "working"}


def check(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [start:follow]
def follow(url: str, raw: bytes, timeout_s: float = 180) -> dict:
    """Upload the message; poll it until the worker is done with it; return its decision log."""
    with httpx.Client(base_url=url, timeout=30) as client:
        accepted = check(client.post("/v1/messages", content=raw, headers={"Content-Type": "message/rfc822"}))
        deadline = time.monotonic() + timeout_s
        while check(client.get(f"/v1/messages/{accepted['id']}"))["state"] in BUSY:
            if time.monotonic() > deadline:
                raise SystemExit(f"message {accepted['id']} still being worked on after {timeout_s} s")
            time.sleep(1)
        return check(client.get(f"/v1/messages/{accepted['id']}/trace"))


# --8<-- [end:follow]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message", type=Path, help="an .eml file (RFC 5322)")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--approve", action="store_true", help="send the draft as it is")
    args = parser.parse_args(argv)
    trace = follow(args.url, args.message.read_bytes())
    for step in trace["steps"]:
        decided = {k: v for k, v in step["output"].items() if k != "draft"}
        print(f"{step['node']:<12} {step['latency_ms']:>8.0f} ms  {step['tool'] or ''} {decided}")
    print(f"state: {trace['state']}")
    if trace["state"] == "awaiting_approval":
        draft = next(s["output"]["draft"] for s in trace["steps"] if s["node"] == "draft")
        print(f"\ndraft:\n{draft}\n")
        if args.approve:
            check(httpx.post(f"{args.url}/v1/approvals/{trace['message']}", json={"action": "approve"}, timeout=30))
            print("approved: the worker sends it now")


if __name__ == "__main__":
    main()
