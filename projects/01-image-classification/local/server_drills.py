"""The fault drills of the serving comparison (bench_servers.py), each against a running stack
(servers.Contender) under real load:

* start-up: poll health and a real request together from launch to the first correct answer;
* bad input: a body that is not an image;
* a model that raises: the model with a bug that fails on a blank image (stack.ensure_model_that_raises)
  under eight clients sending photos, a blank image among them every half second: does one bad
  input fail only its own request, or every request batched with it?
* overload: Poisson arrivals above what the stack can answer, every outcome counted;
* a hung worker: SIGSTOP to one process that runs the model (alive, holding its requests, answering
  nothing), SIGCONT later: does the server notice, and what do clients get meanwhile?
* a killed worker: SIGKILL to one model process under four clients: requests lost and why, when
  answers come back, when a new worker appears, what health said meanwhile;
* a graceful stop: SIGTERM to the process an operator stops, with eight clients in flight: are the
  requests it accepted answered, and when does it exit?"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import httpx

from study.bench.load import open_loop
from study.errors import StudyError
from study.metrics_page import by_label

from .servers import Contender, post_image

DRILL_CLIENTS = 4
SHUTDOWN_CLIENTS = 8
BATCHING_CLIENTS = 8  # enough company for a dynamic batcher to merge requests
BLANK_EVERY_S = 0.5
MODEL_ERROR_RETRIES = "image_classification_model_error_retries_total"
REQUEST_TIMEOUT_S = 10.0


async def outcome(client: httpx.AsyncClient, contender: Contender, image: bytes) -> str:
    """ "ok" for a correct answer (the cat's classes first), else the status or the error's name."""
    try:
        response = await post_image(client, contender, image)
    except httpx.HTTPError as exc:  # refused, reset, timed out
        return type(exc).__name__
    if response.status_code != 200:
        return str(response.status_code)
    return "ok" if response.json()["predictions"][0]["class_id"] in (281, 282, 285) else "wrong answer"


async def answer_ok(client: httpx.AsyncClient, contender: Contender, image: bytes) -> bool:
    return await outcome(client, contender, image) == "ok"


async def health_ok(client: httpx.AsyncClient, contender: Contender) -> bool:
    try:
        return (await client.get(contender.health_url, timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def start_up(contender: Contender, launched: float, image: bytes, timeout_s: float = 180) -> dict:
    """Poll health and a real request together until the first correct answer."""
    health_at = None
    failed_while_healthy = 0
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            healthy = await health_ok(client, contender)
            if healthy and health_at is None:
                health_at = time.perf_counter() - launched
            if await answer_ok(client, contender, image):
                return {
                    "first_answer_s": round(time.perf_counter() - launched, 2),
                    "healthy_s": round(health_at, 2) if health_at is not None else None,
                    "failed_while_healthy": failed_while_healthy,
                }
            failed_while_healthy += int(healthy)
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{contender.name} gave no correct answer within {timeout_s:.0f} s")


async def bad_input(contender: Contender, image: bytes) -> dict:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        response = await post_image(client, contender, b"this is not an image")
        return {"status": response.status_code, "still_serving": await answer_ok(client, contender, image)}


async def overload(contender: Contender, images: list[bytes], rate: float, seconds: float) -> dict:
    outcomes: Counter[str] = Counter()
    sent = iter(range(10**9))
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None)) as client:

        async def send(_intended: float) -> bool:
            try:
                response = await post_image(client, contender, images[next(sent) % len(images)])
            except httpx.TimeoutException:
                outcomes["timed out"] += 1
                return False
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1
                return False
            outcomes[str(response.status_code)] += 1
            return response.status_code == 200

        result = await open_loop(send, rate, seconds, seed=11, drain_s=2 * REQUEST_TIMEOUT_S)
        recovered = await answer_ok(client, contender, images[0])
    return {**result.as_dict(), "outcomes": dict(outcomes), "serving_after": recovered}


async def model_raises(contender: Contender, image: bytes, blank: bytes, seconds: float) -> dict:
    """Served the model that raises on a blank image: eight clients send the photo one request
    after another while a ninth sends a blank image every half second, for ``seconds``. Every
    answer is counted: the blank images' (an error, and which), and the photos' (a photo that
    fails was batched with a blank image)."""
    before = running_workers(contender)
    started = time.perf_counter()
    stop_at = started + seconds
    blanks: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None)) as client:

        async def send_blanks() -> None:
            while time.perf_counter() < stop_at:
                blanks[await outcome(client, contender, blank)] += 1
                await asyncio.sleep(BLANK_EVERY_S)

        spans, _ = await asyncio.gather(
            steady_load(client, contender, image, BATCHING_CLIENTS, started, stop_at), send_blanks()
        )
        serving_after = await answer_ok(client, contender, image)
    retries = by_label(contender.metrics_url, MODEL_ERROR_RETRIES, "outcome") if contender.metrics_url else None
    photos = Counter(result for _, _, result in spans)
    return {
        "blank_images": sum(blanks.values()),
        "blank_outcomes": dict(blanks),
        "photos": len(spans),
        "photos_failed": len(spans) - photos["ok"],
        "photo_failures": {what: n for what, n in photos.items() if what != "ok"},
        "workers_replaced": bool(set(running_workers(contender)) - set(before)),
        "serving_after": serving_after,
        "service_retries": retries,  # the course's service: requests sent again, by outcome
    }


def alive(pid: int) -> bool:
    """Running: not gone, and not a zombie waiting for its parent to collect it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def running_workers(contender: Contender) -> list[int]:
    try:
        return [pid for pid in contender.workers() if alive(pid)]
    except Exception:  # the stack's own process was the worker, and is gone
        return []


def a_worker(contender: Contender) -> list[int]:
    """The running model processes; a drill needs one."""
    if not (workers := running_workers(contender)):
        raise StudyError(f"{contender.name}: no process running the model was found")
    return workers


Span = tuple[float, float, str]  # (sent, finished, outcome), seconds after the drill's event


async def steady_load(
    client: httpx.AsyncClient, contender: Contender, image: bytes, clients: int, origin: float, until: float
) -> list[Span]:
    """``clients`` clients, each sending one request after another until ``until`` (a
    ``time.perf_counter()``); every request as (sent, finished, outcome), seconds after ``origin``."""
    spans: list[Span] = []

    async def one_client() -> None:
        while time.perf_counter() < until:
            sent = time.perf_counter() - origin
            result = await outcome(client, contender, image)
            spans.append((sent, time.perf_counter() - origin, result))
            if result != "ok":
                await asyncio.sleep(0.05)  # a refused connection answers at once: do not spin

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return spans


async def killed_worker(contender: Contender, image: bytes, seconds: float, wait_s: float = 60) -> dict:
    """SIGKILL one model process one second into a steady load of four clients; then wait for a
    replacement process and a correct answer, for up to ``wait_s``."""
    before = a_worker(contender)
    probes: list[tuple[float, bool]] = []  # (seconds after the kill, health said ok)
    killed_at = time.perf_counter() + 1.0
    stop_at = killed_at + seconds
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None)) as client:
        replaced_after = answering_after = None

        def look_for_a_new_worker() -> None:
            nonlocal replaced_after
            if replaced_after is None and set(running_workers(contender)) - set(before):
                replaced_after = time.perf_counter() - killed_at

        async def probe() -> None:
            while time.perf_counter() < stop_at:
                probes.append((time.perf_counter() - killed_at, await health_ok(client, contender)))
                look_for_a_new_worker()
                await asyncio.sleep(0.1)

        async def kill() -> None:
            await asyncio.sleep(max(0.0, killed_at - time.perf_counter()))
            os.kill(before[0], signal.SIGKILL)

        spans, *_ = await asyncio.gather(
            steady_load(client, contender, image, DRILL_CLIENTS, killed_at, stop_at), kill(), probe()
        )
        failed = [(sent, finished) for sent, finished, result in spans if result != "ok"]
        last_failure = max((finished for _, finished in failed), default=0.0)
        answered_since = any(result == "ok" for sent, _, result in spans if sent > last_failure)
        deadline = time.perf_counter() + wait_s
        while time.perf_counter() < deadline and (replaced_after is None or not answered_since):
            look_for_a_new_worker()
            if not answered_since and await answer_ok(client, contender, image):
                answering_after = time.perf_counter() - killed_at
                answered_since = True
            await asyncio.sleep(0.25)
    window = [ok for at, ok in probes if failed and failed[0][0] <= at <= last_failure]
    return {
        "workers_before": len(before),
        "requests": len(spans),
        "failed": len(failed),
        "failures": dict(Counter(result for _, _, result in spans if result != "ok")),
        # the last failed request ended here; answers came again after it (None: not within wait_s)
        "failures_end_s": round(last_failure, 2) if failed else None,
        "answering_again": answered_since,
        "answering_again_after_s": round(answering_after, 2) if answering_after is not None else None,
        "replaced_after_s": round(replaced_after, 2) if replaced_after is not None else None,
        "health_probes_while_failing": len(window),
        "health_ok_while_failing": sum(window),
    }


async def hung_worker(contender: Contender, image: bytes, seconds: float) -> dict:
    """SIGSTOP one model process (alive, holding its requests, answering nothing: a model that
    hangs) one second into a load of four clients; SIGCONT it after ``seconds``."""
    before = a_worker(contender)
    probes: list[tuple[float, bool]] = []
    stopped_at = time.perf_counter() + 1.0
    resume_at = stopped_at + seconds
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None)) as client:

        async def probe() -> None:
            while time.perf_counter() < resume_at:
                asked = time.perf_counter() - stopped_at
                healthy = await health_ok(client, contender)
                if asked >= 0 and time.perf_counter() - stopped_at < seconds:  # asked and answered while hung
                    probes.append((asked, healthy))
                await asyncio.sleep(0.2)

        async def freeze() -> None:
            await asyncio.sleep(max(0.0, stopped_at - time.perf_counter()))
            os.kill(before[0], signal.SIGSTOP)
            await asyncio.sleep(max(0.0, resume_at - time.perf_counter()))
            if alive(before[0]):
                os.kill(before[0], signal.SIGCONT)

        spans, *_ = await asyncio.gather(
            steady_load(client, contender, image, DRILL_CLIENTS, stopped_at, resume_at), freeze(), probe()
        )
        survived = alive(before[0])
        after = await answer_ok(client, contender, image)
    during = [ok for _, ok in probes]
    # the requests that ended after the SIGSTOP (in flight then, or sent later): answered meanwhile
    # ("ok"), answered once it resumed, or failed
    outcomes = Counter(
        "answered after SIGCONT" if result == "ok" and finished >= seconds else result
        for _, finished, result in spans
        if finished >= 0
    )
    return {
        "hung_for_s": seconds,
        "outcomes": dict(outcomes),
        # sent after the SIGSTOP and answered before the SIGCONT: by another worker
        "answered_while_hung": sum(
            1 for sent, finished, result in spans if result == "ok" and sent >= 0 and finished < seconds
        ),
        "health_ok_while_hung": sum(during),
        "health_probes_while_hung": len(during),
        "hung_worker_killed_by_server": not survived,
        "new_worker": bool(set(running_workers(contender)) - set(before)),
        "answering_after": after,
    }


async def graceful_stop(contender: Contender, image: bytes, seconds: float, wait_s: float = 45) -> dict:
    """SIGTERM the front process with eight clients sending; follow every request to its end, then
    wait for the process to exit."""
    front = contender.front()
    signalled_at = time.perf_counter() + 1.0
    stop_at = signalled_at + seconds
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None)) as client:

        async def stop() -> None:
            await asyncio.sleep(max(0.0, signalled_at - time.perf_counter()))
            os.kill(front, signal.SIGTERM)

        exited_at = None

        async def watch() -> None:  # until it exits, or wait_s after the load ends
            nonlocal exited_at
            deadline = stop_at + wait_s
            while alive(front) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            if not alive(front):
                exited_at = time.perf_counter() - signalled_at

        spans, *_ = await asyncio.gather(
            steady_load(client, contender, image, SHUTDOWN_CLIENTS, signalled_at, stop_at), stop(), watch()
        )
    in_flight = [result == "ok" for sent, finished, result in spans if sent < 0 < finished]
    later = [result == "ok" for sent, _, result in spans if sent >= 0]
    return {
        "in_flight_at_signal": len(in_flight),
        "in_flight_answered": sum(in_flight),
        "sent_after_signal": len(later),
        "answered_after_signal": sum(later),
        "exited_after_s": round(exited_at, 1) if exited_at is not None else None,
    }
