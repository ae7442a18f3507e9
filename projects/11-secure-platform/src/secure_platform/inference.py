"""One authorised prediction, stage by stage: limits, the model on Triton, then the prediction and
its audit record in one transaction. Each stage's time goes into the answer's Server-Timing header
(the benchmark reads it to price each security step against the model call)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from secure_platform.audit import AuditRecord
from secure_platform.database import Database, Prediction
from secure_platform.limits import Admission, TenantLimits
from secure_platform.settings import ModelSpec, Settings
from secure_platform.tokens import Principal
from secure_platform.triton_client import TritonModels


@dataclass
class Timings:
    """Milliseconds per stage of one request, in the order they ran."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + (time.perf_counter() - start) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.3f}" for name, ms in self.stages.items())


@dataclass(frozen=True)
class Answer:
    prediction_id: uuid.UUID
    labels: list[str]
    probabilities: list[list[float]]
    admission: Admission


def input_digest(rows: list[list[float]]) -> tuple[str, int]:
    """SHA-256 and size of the input as float32 bytes: what the audit keeps instead of the data."""
    data = np.asarray(rows, dtype=np.float32).tobytes()
    return hashlib.sha256(data).hexdigest(), len(data)


class Inference:
    def __init__(self, settings: Settings, models: TritonModels, database: Database, limits: TenantLimits):
        self.settings, self.models, self.database, self.limits = settings, models, database, limits

    # --8<-- [start:predict]
    async def predict(
        self, principal: Principal, name: str, spec: ModelSpec, rows: list[list[float]], request_id: str, t: Timings
    ) -> Answer:
        plan = self.settings.limits.get(principal.tenant, self.settings.default_limits)
        with t.stage("limits"):
            admission = await self.limits.admit(principal.tenant, plan)
        async with self.limits.slot(principal.tenant, plan):
            with t.stage("model"):
                probabilities = await self.models.probabilities(spec.triton_name, np.asarray(rows, dtype=np.float32))
        labels = [spec.labels[i] for i in probabilities.argmax(axis=1)]
        digest, size = input_digest(rows)
        prediction = Prediction(
            id=uuid.uuid4(),
            model=name,
            client_id=principal.client_id,
            subject=principal.subject,
            row_count=len(rows),
            input_sha256=digest,
            labels=labels,
        )
        record = AuditRecord(
            action="models.predict",
            decision="allow",
            status=200,
            request_id=request_id,
            tenant=principal.tenant,
            subject=principal.subject,
            client_id=principal.client_id,
            resource=f"prediction:{prediction.id}",
            model=name,
            input_sha256=digest,
            input_bytes=size,
        )
        with t.stage("store_audit"):
            await self.database.record_prediction(principal.tenant, prediction, record)
        return Answer(prediction.id, labels, probabilities.astype(float).round(6).tolist(), admission)

    # --8<-- [end:predict]
