"""Score a card transaction from Python: the smallest complete client.

    python client.py transaction.json [--url http://127.0.0.1:8000]

transaction.json holds one transaction: Time, V1..V28 and Amount (GET /docs shows an example).
Needs httpx (pip install httpx). Errors come back as problem+json (RFC 9457): their `type` says
what went wrong, `detail` says why; a 503 carries Retry-After.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx


# --8<-- [start:score]
def score(url: str, transaction: dict) -> dict:
    """POST the transaction; return the answer (probability, decision, votes, degraded)."""
    response = httpx.post(f"{url}/v1/score", json=transaction, timeout=10)
    if response.status_code != 200:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [end:score]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("transaction", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    answer = score(args.url, json.loads(args.transaction.read_text()))
    note = f"; degraded, missing {answer['missing']}" if answer["degraded"] else ""
    print(
        f"{answer['decision']} {answer['fraud_probability']:.4f} (threshold {answer['threshold']:.4f}; "
        f"voted: {', '.join(answer['voted'])}{note})"
    )
    for vote in answer["votes"]:
        print(f"{vote['model']:<7} score {vote['score']:.4f}  weight {vote['weight']:.2f}")


if __name__ == "__main__":
    main()
