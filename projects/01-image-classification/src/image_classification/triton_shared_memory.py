"""Input tensors handed to Triton through shared memory instead of inside the gRPC message.

When the service and Triton share a host (local mode; compose, where the API joins Triton's IPC
namespace), an image's 600 KB float32 tensor need not be serialised into the request, pushed
through a socket and parsed back out: the service writes it into a region of ``/dev/shm`` that
Triton has mapped, and the request only names the region. The service keeps a fixed set of slots,
one per request in flight. A request that finds no slot free, or whose tensor is larger than a
slot, goes as bytes, as it would with shared memory off: shared memory only ever saves time."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import tritonclient.grpc.aio as grpcclient
import tritonclient.utils.shared_memory as shm

log = logging.getLogger(__name__)
RETRY_REGISTRATION_S = 30.0  # after Triton refused the regions (no shared /dev/shm), try again this late


@dataclass(frozen=True)
class Slot:
    name: str  # the region's name on Triton
    handle: shm.SharedMemoryRegion

    @property
    def key(self) -> str:
        return f"/{self.name}"  # its name in /dev/shm


class InputSlots:
    """``count`` regions of ``slot_bytes`` each, created by this process and registered with Triton."""

    def __init__(self, count: int, slot_bytes: int, owner: str | None = None):
        owner = owner or f"image-classification-{os.getpid()}"  # one set per process: replicas share a Triton
        self.slot_bytes = slot_bytes
        names = [f"{owner}-{i}" for i in range(count)]
        self._slots = [Slot(name, shm.create_shared_memory_region(name, f"/{name}", slot_bytes)) for name in names]
        self._free = list(self._slots)
        self._registered = False
        self._retry_at = 0.0
        self._lock = asyncio.Lock()

    async def ensure_registered(self, client: grpcclient.InferenceServerClient) -> bool:
        """Register every slot with Triton once (again after ``forget``); False while Triton refuses."""
        if self._registered or time.monotonic() < self._retry_at:
            return self._registered
        async with self._lock:
            if not self._registered and time.monotonic() >= self._retry_at:
                try:
                    for slot in self._slots:
                        await client.unregister_system_shared_memory(slot.name)  # a stale one of ours
                        await client.register_system_shared_memory(slot.name, slot.key, self.slot_bytes)
                    self._registered = True
                except Exception as exc:  # Triton down, or it cannot open our /dev/shm
                    self._retry_at = time.monotonic() + RETRY_REGISTRATION_S
                    log.warning("tensors go to Triton as bytes: shared memory not registered (%s)", exc)
        return self._registered

    def forget(self) -> None:
        """Triton no longer knows the regions (it restarted): register them again on next use."""
        self._registered = False

    def take(self, tensor: np.ndarray) -> Slot | None:
        """A free slot holding a copy of ``tensor``, or None (the tensor then goes as bytes)."""
        if not self._registered or not self._free or tensor.nbytes > self.slot_bytes:
            return None
        slot = self._free.pop()
        shm.set_shared_memory_region(slot.handle, [tensor])
        return slot

    def give_back(self, slot: Slot) -> None:
        self._free.append(slot)

    async def close(self, client: grpcclient.InferenceServerClient) -> None:
        if self._registered:
            for slot in self._slots:
                try:
                    await client.unregister_system_shared_memory(slot.name, client_timeout=2.0)
                except Exception:  # Triton gone first: nothing left to unregister
                    break
        for slot in self._slots:
            shm.destroy_shared_memory_region(slot.handle)
