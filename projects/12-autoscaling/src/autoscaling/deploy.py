"""Deploy (or redeploy) the LLM deployment on a running Ray cluster, then return: Serve keeps it
running after this driver exits.

    python -m autoscaling.deploy --address 127.0.0.1:6379 --http-port 8100 \\
        --policy '{"max_replicas": 2}' --replica '{"command": [...]}'
"""

from __future__ import annotations

import argparse
import json
import logging

import ray
from ray import serve

from autoscaling.llm_deployment import build_app
from autoscaling.settings import ReplicaSettings, ScalingPolicy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the Ray head's GCS address")
    parser.add_argument("--http-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8100)
    parser.add_argument("--policy", default="{}", help="ScalingPolicy fields as JSON")
    parser.add_argument("--replica", required=True, help="ReplicaSettings fields as JSON")
    args = parser.parse_args(argv)
    ray.init(address=args.address, logging_level=logging.WARNING, log_to_driver=False)
    serve.start(http_options={"host": args.http_host, "port": args.http_port})
    policy, replica = ScalingPolicy(**json.loads(args.policy)), ReplicaSettings(**json.loads(args.replica))
    serve.run(build_app(policy, replica), name="llm", route_prefix="/", blocking=False)
    print(json.dumps({"deployed": policy.model_dump()}))


if __name__ == "__main__":
    main()
