"""Model updates: poll for a bundle, verify it, check it on the golden images, switch atomically.

The files land in ``models/<version>/`` under a temporary name and are renamed into place; the
registry row and the in-memory swap come last. A refused bundle is recorded (and reported to the
cloud through the outbox) with its reason, and the model that served before goes on serving."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import httpx

from edge_gateway import metrics
from edge_gateway.bundles import BundleRefused, golden_check, public_key_from, verify_envelope, verify_model_file
from edge_gateway.classifier import Classifier, Model
from edge_gateway.settings import Settings
from edge_gateway.store import Store

log = logging.getLogger(__name__)


class Updater:
    def __init__(self, settings: Settings, store: Store, classifier: Classifier):
        self.settings, self.store, self.classifier = settings, store, classifier
        self.models_dir = Path(settings.data_dir) / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)

    def load_active(self) -> bool:
        """At start: the model the registry says is active (it passed every check when installed)."""
        for row in self.store.models():
            if row["status"] == "active":
                self._serve(row["version"])
                return True
        return False

    def _serve(self, version: str) -> Model:
        model = Model(
            self.models_dir / version / "model.onnx",
            version,
            self.settings.intra_op_threads,
            self.settings.cpu_mem_arena,
        )
        self.classifier.swap(model)
        metrics.MODEL_INFO.clear()
        metrics.MODEL_INFO.labels(version).set(1)
        return model

    # --8<-- [start:install]
    def install(self, envelope: dict, model_file: Path) -> str:
        """Verify, check and switch; returns the version now serving. Raises BundleRefused."""
        manifest = verify_envelope(envelope, public_key_from(self.settings.pinned_key()))
        verify_model_file(model_file, manifest)
        target = self.models_dir / manifest.version
        staging = self.models_dir / f".{manifest.version}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        shutil.copyfile(model_file, staging / "model.onnx")
        (staging / "bundle.json").write_text(json.dumps(envelope))
        candidate = Model(
            staging / "model.onnx", manifest.version, self.settings.intra_op_threads, self.settings.cpu_mem_arena
        )
        golden_check(candidate, Path(self.settings.golden_dir), self.settings.max_image_pixels)
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)  # atomic on one file system
        self.store.activate(manifest.version, manifest.model_sha256, datetime.now(UTC).isoformat())
        self._serve(manifest.version)
        metrics.UPDATES.labels("installed").inc()
        log.info("model %s installed and serving", manifest.version)
        return manifest.version

    # --8<-- [end:install]

    def refused(self, envelope: dict, reason: str) -> None:
        manifest = envelope.get("manifest") if isinstance(envelope, dict) else None
        version = str((manifest or {}).get("version", "unknown"))
        sha = str((manifest or {}).get("model_sha256", ""))
        at = datetime.now(UTC).isoformat()
        self.store.refuse(version, sha, reason, at)
        self.store.add_event(
            f"refused:{version}:{sha[:16]}", {"event": "bundle_refused", "version": version, "reason": reason, "at": at}
        )
        metrics.UPDATES.labels("refused").inc()
        log.warning("bundle %s refused: %s", version, reason)

    def rollback(self) -> str:
        """Serve the previous model again (it is still on disk and passed its checks when installed)."""
        previous = [r for r in self.store.models() if r["status"] == "previous"]
        if not previous:
            raise BundleRefused("no previous model to roll back to")
        row = previous[-1]
        self.store.activate(row["version"], row["sha256"], datetime.now(UTC).isoformat())
        self._serve(row["version"])
        return row["version"]

    async def poll_once(self, client: httpx.AsyncClient) -> str | None:
        """Ask the update server for its latest bundle; install it if it is new. Returns what happened."""
        response = await client.get(self.settings.update_url or "")
        response.raise_for_status()
        envelope = response.json()
        version = str(envelope.get("manifest", {}).get("version", ""))
        if any(
            r["version"] == version and r["status"] in ("active", "previous", "retired", "refused")
            for r in self.store.models()
        ):
            return None  # known: installed before, or refused before
        model_url = httpx.URL(self.settings.update_url or "").join(envelope["manifest"].get("model_path", "model.onnx"))
        download = self.models_dir / ".download"
        async with client.stream("GET", model_url) as stream:
            stream.raise_for_status()
            with download.open("wb") as f:
                async for chunk in stream.aiter_bytes():
                    f.write(chunk)
        try:
            return await asyncio.to_thread(self.install, envelope, download)
        except BundleRefused as exc:
            await asyncio.to_thread(self.refused, envelope, str(exc))
            return f"refused: {exc}"
        finally:
            download.unlink(missing_ok=True)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=3.0)) as client:
            while True:
                try:
                    await self.poll_once(client)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.info("update check failed: %s", exc)
                await asyncio.sleep(self.settings.update_interval_s)
