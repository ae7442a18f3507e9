"""Ask the A/B platform for a sentiment, and tell it later whether the answer was right: the
smallest complete client of an experiment.

    python client.py "The flight was delayed again" --user user-42 [--experiment ID] [--truth negative]
    python client.py --report ID

Needs httpx (pip install httpx). Errors come back as problem+json (RFC 9457): their `type` says
what went wrong, `detail` says why; a 503 carries Retry-After.
"""

from __future__ import annotations

import argparse
import sys

import httpx


def _checked(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


# --8<-- [start:predict]
def predict(client: httpx.Client, text: str, user: str, experiment: str | None) -> dict:
    """The unit id decides the arm: the same user always gets the same model in an experiment."""
    body = {"text": text, "unit_id": user, "experiment": experiment}
    return _checked(client.post("/v1/predict", json=body))


def tell_truth(client: httpx.Client, prediction_id: str, label: str) -> dict:
    """Later, when the truth is known (the user corrected it, a reviewer labelled it)."""
    return _checked(client.post("/v1/feedback", json={"prediction_id": prediction_id, "label": label}))


# --8<-- [end:predict]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?")
    parser.add_argument("--user", default="user-1", help="The unit that is assigned to an arm.")
    parser.add_argument("--experiment", help="Omitted: the default model answers.")
    parser.add_argument("--truth", choices=["negative", "neutral", "positive"], help="Send this label as feedback.")
    parser.add_argument("--report", metavar="EXPERIMENT", help="Print an experiment's report instead.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=30) as client:
        if args.report:
            report = _checked(client.get(f"/v1/experiments/{args.report}/report"))
            print(f"{report['experiment']}: {report['stage']}, weights {report['weights']}")
            for arm, a in report["arms"].items():
                accuracy = "-" if a["accuracy"] is None else f"{a['accuracy']:.3f}"
                print(f"  {arm} ({a['role']}): {a['units']} units, {a['outcomes']} outcomes, accuracy {accuracy}")
            print(f"  controller now: {report['decision_now']}")
            return
        if not args.text:
            parser.error("give a text (or --report EXPERIMENT)")
        answer = predict(client, args.text, args.user, args.experiment)
        print(f"{answer['label']} (model {answer['model']}, arm {answer['arm']}, prediction {answer['prediction_id']})")
        if args.truth:
            stored = tell_truth(client, answer["prediction_id"], args.truth)
            print(f"feedback {args.truth} stored in {stored['stored']}")


if __name__ == "__main__":
    main(sys.argv[1:])
