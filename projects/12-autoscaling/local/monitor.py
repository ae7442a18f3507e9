"""Replica counts over time: a driver attached to the Ray cluster that writes, every half second,
one JSON line {"t": unix time, "replicas": {"RUNNING": n, "STARTING": m, ...}} (run by the stack;
the tests and the benchmark read the file).

    python monitor.py RAY_ADDRESS OUT_FILE
"""

from __future__ import annotations

import json
import logging
import sys
import time

import ray
from ray import serve


def main() -> None:
    address, out = sys.argv[1], sys.argv[2]
    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    with open(out, "a", buffering=1) as lines:
        while True:
            try:
                application = serve.status().applications.get("llm")
                counts = application.deployments["llm"].replica_states if application else {}
                states: dict[str, object] = {getattr(state, "value", str(state)): n for state, n in counts.items()}
            except Exception as exc:  # the controller restarting: say so, keep watching
                states = {"unknown": 1, "error": str(exc)[:200]}
            lines.write(json.dumps({"t": time.time(), "replicas": states}) + "\n")
            time.sleep(0.5)


if __name__ == "__main__":
    main()
