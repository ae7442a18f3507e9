"""Admission control: a fixed number of generations in flight, a bounded line of waiters, and a
clear "no" for everyone beyond it. Memory stays bounded however many clients arrive."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager


class Overloaded(RuntimeError):
    """No slot and no room to wait (or the wait timed out)."""


# --8<-- [start:admission]
class Admission:
    def __init__(self, max_active: int, max_waiting: int, timeout_s: float):
        self._slots = asyncio.Semaphore(max_active)
        self.max_active, self.max_waiting, self.timeout_s = max_active, max_waiting, timeout_s
        self.active = 0
        self.waiting = 0

    async def acquire(self) -> None:
        # Decided on our own counters, before any await: concurrent arrivals cannot all slip past.
        if self.active + self.waiting >= self.max_active + self.max_waiting:
            raise Overloaded("all generation slots are busy and the waiting line is full")
        self.waiting += 1
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise Overloaded(f"no generation slot freed up within {self.timeout_s:g} s") from None
        finally:
            self.waiting -= 1
        self.active += 1

    def release(self) -> None:
        self.active -= 1
        self._slots.release()

    @asynccontextmanager
    async def slot(self):
        await self.acquire()
        try:
            yield
        finally:
            self.release()


# --8<-- [end:admission]
