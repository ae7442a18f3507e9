"""The harness's load generators, checked on a queue whose behaviour is known: one worker that
serves requests in turn, so what each generator reports can be compared with what must happen."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from study.bench.load import OpenLoopResult, closed_loop, knee, open_loop, poisson_arrivals


def test_poisson_arrivals_have_the_rate_and_exponential_gaps():
    times = poisson_arrivals(50, 200, seed=3)
    gaps = np.diff(times)
    assert abs(len(times) / 200 - 50) < 50 * 0.05  # 10,000 arrivals expected; sd 1 %
    assert np.all(gaps >= 0) and times[-1] < 200
    assert abs(gaps.std() / gaps.mean() - 1) < 0.05  # an exponential's coefficient of variation is 1
    assert np.array_equal(times, poisson_arrivals(50, 200, seed=3))
    assert not np.array_equal(times[:100], poisson_arrivals(50, 200, seed=4)[:100])


class OneWorker:
    """A server with one worker: requests queue for it; the first one served stalls for ``stall_s``."""

    def __init__(self, service_s: float, stall_s: float):
        self.lock = asyncio.Lock()
        self.service_s, self.stall_s, self.served = service_s, stall_s, 0

    async def serve(self) -> bool:
        async with self.lock:
            await asyncio.sleep(self.stall_s if self.served == 0 else self.service_s)
            self.served += 1
        return True


def test_a_stall_the_closed_loop_hides_is_seen_by_the_open_loop():
    """The first request holds the only worker for a second. The closed loop's one client waits,
    sends nothing meanwhile, and records one slow request among many fast ones; the open loop keeps
    sending, and every request that arrived during the stall carries its wait."""
    closed = asyncio.run(closed_loop(OneWorker(0.002, 1.0).serve, concurrency=1, requests=100))
    server = OneWorker(0.002, 1.0)
    opened = asyncio.run(open_loop(lambda _: server.serve(), rate_rps=50, seconds=2, seed=1))

    assert closed.p50_ms < 100 and closed.p95_ms < 500  # 99 of its 100 requests never saw the stall
    assert opened.errors == 0 and opened.sent > 50
    # Half the arrivals came during the stall; a quarter came in its first half and waited > 500 ms.
    assert opened.p95_ms > 500 and opened.mean_ms > 100
    assert opened.p95_ms > 5 * closed.p95_ms
    assert opened.in_flight_seen > 5  # arrivals found a queue


def test_latency_runs_from_the_intended_send_time():
    """A send that is itself slow to start (the generator or its pool busy) is charged for it."""

    async def late(intended: float) -> bool:
        await asyncio.sleep(max(0.0, intended + 0.2 - time.perf_counter()))  # answered 200 ms after intended
        return True

    result = asyncio.run(open_loop(late, rate_rps=20, seconds=1, seed=2))
    assert result.p50_ms >= 200 and result.errors == 0


def test_errors_and_unanswered_requests_are_counted_not_raised():
    calls = 0

    async def flaky(_: float) -> bool:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            raise ConnectionError("refused")
        if calls % 3 == 1:
            return False
        await asyncio.sleep(3600)  # never answers within the drain
        return True

    result = asyncio.run(open_loop(flaky, rate_rps=30, seconds=1, seed=5, drain_s=0.5))
    assert result.sent == calls and result.errors == result.sent
    assert result.achieved_rps == 0 and np.isnan(result.p50_ms)


def test_littles_law_holds_for_a_queue_that_keeps_up():
    """Arrivals see the time-average number in the system (Poisson arrivals see time averages), so
    the in-flight count they saw matches λW within sampling noise."""
    server = OneWorker(0.01, 0.01)
    result = asyncio.run(open_loop(lambda _: server.serve(), rate_rps=40, seconds=4, seed=7))
    assert result.errors == 0
    assert result.littles_law_in_flight == pytest.approx(result.in_flight_seen, rel=0.5, abs=0.3)


def _result(offered: float, achieved: float, p99: float, errors: int = 0) -> OpenLoopResult:
    return OpenLoopResult(offered, 10, int(offered * 10), offered, errors, achieved, p99 / 2, p99, p99, p99 / 2, 1, 0)


def test_knee_is_the_highest_rate_that_kept_up_within_the_objective():
    results = [
        _result(10, 10, 20),
        _result(20, 19.8, 30),
        _result(30, 29.5, 90),  # kept up, but its p99 misses a 50 ms objective
        _result(40, 31, 2000),  # fell behind: the queue grew
    ]
    assert knee(results, objective_ms=50) == 20
    assert knee(results, objective_ms=100) == 30
    assert knee(results, objective_ms=5) is None
    assert knee([_result(10, 10, 20, errors=1)], objective_ms=50) is None
    assert knee(results, objective_ms=50, percentile="p50_ms") == 30  # its p50 (45 ms) meets 50 ms
    # a heavier rate that happened to pass after a lighter one failed does not count
    assert knee([*results, _result(50, 50, 20)], objective_ms=50) == 20
