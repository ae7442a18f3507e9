"""The LLM deployment on Ray Serve: each replica starts an OpenAI-compatible model server (llama.cpp
locally, vLLM on a GPU) as a child process, relays chat completions to it, and stops it when Ray
removes the replica. Ray Serve decides how many replicas run, from the requests in flight.

    serve.run(build_app(policy, replica), route_prefix="/")
"""

import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from ray import serve
from ray.serve.config import AutoscalingConfig, BackpressureConfig

from autoscaling.settings import ReplicaSettings, ScalingPolicy

log = logging.getLogger("ray.serve")
replica_app = FastAPI()


def _die_with_replica() -> None:
    """In the model server's process: get SIGTERM when the replica's process dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@serve.ingress(replica_app)
class LLMServer:
    """One replica: its model server's process, and the time each start-up phase took."""

    def __init__(self, settings: dict):
        self.settings = ReplicaSettings(**settings)
        started = time.monotonic()
        self.port = _free_port()
        command = [part.replace("{port}", str(self.port)) for part in self.settings.command]
        self.process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_replica)
        spawned = time.monotonic()
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=None)
        deadline = spawned + self.settings.startup_timeout_s
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited with {self.process.returncode} while loading")
            if time.monotonic() > deadline:
                self._stop()
                raise RuntimeError("the model server did not load in time")
            time.sleep(0.1)
        self.startup = {"spawn_s": spawned - started, "load_s": time.monotonic() - spawned}
        log.info("replica ready: %s", self.startup)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/v1/models", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def check_health(self) -> None:
        """Ray calls this every few seconds; a dead model server makes Ray replace the replica."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the model server exited with {self.process.returncode}")

    async def relay(self, body: dict) -> AsyncIterator[bytes]:
        async with self.http.stream("POST", "/v1/chat/completions", json=body) as upstream:
            async for chunk in upstream.aiter_raw():
                yield chunk

    def _stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def __del__(self) -> None:
        self._stop()

    @replica_app.post("/v1/chat/completions")
    async def chat(self, request: Request) -> Response:
        if self.process.poll() is not None:
            # The model server died: this replica can do nothing more. Leaving at once (rather than
            # at the next health check) takes it out of Ray's routing now; the router retries the
            # request on another replica and Ray starts a replacement.
            log.error("the model server exited with %s; the replica stops", self.process.returncode)
            os._exit(1)
        body = {**await request.json(), "model": self.settings.model}
        if body.get("stream"):
            return StreamingResponse(self.relay(body), media_type="text/event-stream")
        answer = await self.http.post("/v1/chat/completions", json=body)
        return JSONResponse(answer.json(), status_code=answer.status_code)

    @replica_app.get("/startup")
    async def startup_times(self) -> dict:
        """How long this replica took to start: spawning the server, loading the model."""
        return self.startup


# --8<-- [start:deployment]
def build_app(policy: ScalingPolicy, replica: ReplicaSettings):
    """The LLM deployment with the policy's autoscaling, queue bound and 429 on overflow."""
    deployment = serve.deployment(
        LLMServer,
        name="llm",
        max_ongoing_requests=policy.max_ongoing_requests,
        max_queued_requests=policy.max_queued_requests,
        backpressure_config=BackpressureConfig(status_code=429, retry_after_s=policy.retry_after_s),
        autoscaling_config=AutoscalingConfig(
            min_replicas=policy.min_replicas,
            initial_replicas=policy.min_replicas,
            max_replicas=policy.max_replicas,
            target_ongoing_requests=policy.target_ongoing_requests,
            upscale_delay_s=policy.upscale_delay_s,
            downscale_delay_s=policy.downscale_delay_s,
            downscale_to_zero_delay_s=policy.downscale_to_zero_delay_s,
            metrics_interval_s=0.5,
            look_back_period_s=2.0,
        ),
        ray_actor_options={"num_cpus": replica.num_cpus, "num_gpus": replica.num_gpus},
        health_check_period_s=2.0,
        health_check_timeout_s=10.0,
        graceful_shutdown_timeout_s=30.0,  # streams in flight finish before the replica goes
        max_constructor_retry_count=replica.max_start_attempts,
    )
    return deployment.bind(replica.model_dump())  # type: ignore[attr-defined]  # serve.deployment's overloads


# --8<-- [end:deployment]
