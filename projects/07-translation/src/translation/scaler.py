"""Scale to zero, on one host: ``python -m translation.scaler``. Every few seconds it reads the queue
length and starts document workers (``python -m translation.worker``, as child processes) until
there is one per TRANSLATION_JOBS_PER_WORKER queued jobs, up to TRANSLATION_MAX_WORKERS; each worker
exits by itself after TRANSLATION_IDLE_EXIT_S with nothing to do. No queue, no worker, no cost;
the price is the first job's wait for a cold worker (the benchmark measures it).

On Kubernetes the same rule is a KEDA ScaledObject with a Redis list trigger on translation:queue
(minReplicaCount 0); the workers' own idle exit is then replaced by KEDA's cooldown."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import time

import redis

from translation.jobs import QUEUE
from translation.logging_config import configure_logging
from translation.settings import Settings

log = logging.getLogger("translation.scaler")


# --8<-- [start:rule]
def wanted(queued: int, running: int, jobs_per_worker: int, max_workers: int) -> int:
    """Workers to start now: enough for the queue, never more than the cap; never stops one (an
    idle worker stops itself, a busy one must not be stopped)."""
    if queued == 0:
        return 0
    return max(0, min(max_workers, math.ceil(queued / jobs_per_worker)) - running)


# --8<-- [end:rule]


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    idle_exit_s = settings.idle_exit_s or 30.0  # a scaled worker must be able to stop
    queue = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    workers: list[subprocess.Popen] = []
    started = 0
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scaler ready: up to %d workers, idle exit after %.0f s", settings.max_workers, idle_exit_s)
    while not stopping:
        workers = [w for w in workers if w.poll() is None]
        try:
            queued = int(queue.llen(QUEUE))
        except redis.exceptions.RedisError as exc:
            log.warning("Redis unavailable: %s", exc)
            queued = 0
        for _ in range(wanted(queued, len(workers), settings.jobs_per_worker, settings.max_workers)):
            started += 1
            env = {
                **os.environ,
                "TRANSLATION_WORKER_NAME": f"{settings.worker_name}-{started}",
                "TRANSLATION_IDLE_EXIT_S": str(idle_exit_s),
                "TRANSLATION_WORKER_METRICS_PORT": "0",
            }
            workers.append(subprocess.Popen([sys.executable, "-m", "translation.worker"], env=env))
            log.info("queue %d: started worker %d (%d running)", queued, started, len(workers))
        time.sleep(settings.scale_every_s)
    for worker in workers:  # pass the preemption notice on, and wait out their grace
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=settings.grace_s + 5)
    log.info("scaler stopped")


if __name__ == "__main__":
    main()
