"""What happens to one image, whichever way it arrived: check the device, decode, answer from the
cache or the model, store the result and queue it for the cloud, in that order."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edge_gateway import metrics
from edge_gateway.classifier import Classifier
from edge_gateway.devices import Devices
from edge_gateway.images import decode, to_model_input
from edge_gateway.settings import Settings
from edge_gateway.store import Result, Store


class BadCaptureTime(ValueError):
    pass


class ImageTooBig(ValueError):
    pass


@dataclass(frozen=True)
class Incoming:
    device_id: str
    captured_at: str  # ISO 8601 with a time zone
    image: bytes
    signature: str
    channel: str  # http | mqtt


class Gateway:
    def __init__(self, settings: Settings, store: Store, classifier: Classifier, devices: Devices):
        self.settings, self.store, self.classifier, self.devices = settings, store, classifier, devices
        # One inference at a time: the model has the threads it was given, more callers only queue.
        self._model_lock = asyncio.Lock()

    # --8<-- [start:handle]
    async def handle(self, message: Incoming) -> Result:
        if len(message.image) > self.settings.max_image_bytes:
            raise ImageTooBig(f"{len(message.image)} bytes; at most {self.settings.max_image_bytes} are accepted")
        captured = self._capture_time(message.captured_at)
        content = hashlib.sha256(message.image).hexdigest()
        self.devices.check(message.device_id, message.captured_at, content, message.signature)
        model = self.classifier.model
        hit = (
            None
            if model is None or not self.settings.cache_entries
            else await asyncio.to_thread(self.store.cached, content, model.version)
        )
        metrics.CACHE.labels("hit" if hit else "miss").inc()
        if hit is not None:
            index, label, score = hit
            version = model.version if model else ""
        else:
            # Decoding is CPU work too: off the event loop, so MQTT and HTTP keep being served.
            tensor = await asyncio.to_thread(
                lambda: to_model_input(decode(message.image, self.settings.max_image_pixels))
            )
            async with self._model_lock:
                started = time.perf_counter()
                answer = await asyncio.to_thread(self.classifier.classify, tensor)
                metrics.INFERENCE.observe(time.perf_counter() - started)
            index, label, score, version = answer.class_index, answer.label, answer.score, answer.model_version
        result = Result(
            id=str(uuid.uuid4()),
            device_id=message.device_id,
            captured_at=captured.isoformat(),
            received_at=datetime.now(UTC).isoformat(),
            content_sha256=content,
            class_index=index,
            label=label,
            score=score,
            model_version=version,
            cached=hit is not None,
        )
        # On disk before the device hears "accepted"; the answer cached only if caching is on.
        await asyncio.to_thread(self.store.accept, result, self.settings.cache_entries > 0)
        return result

    # --8<-- [end:handle]

    def _capture_time(self, text: str) -> datetime:
        try:
            captured = datetime.fromisoformat(text)
        except ValueError:
            raise BadCaptureTime(f"capture time {text!r} is not ISO 8601") from None
        if captured.tzinfo is None:
            raise BadCaptureTime("capture time needs a time zone (e.g. 2026-12-01T10:00:00+00:00)")
        if captured > datetime.now(UTC) + timedelta(seconds=self.settings.max_clock_skew_s):
            raise BadCaptureTime("capture time is in the future beyond the allowed clock skew")
        return captured.astimezone(UTC)
