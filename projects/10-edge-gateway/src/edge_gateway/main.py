"""The app factory: ``uvicorn --factory edge_gateway.main:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from edge_gateway.api.middleware import install_middleware
from edge_gateway.api.problems import install_problem_handlers
from edge_gateway.api.routes import router
from edge_gateway.bundles import BundleRefused
from edge_gateway.classifier import Classifier
from edge_gateway.devices import Devices
from edge_gateway.gateway import Gateway
from edge_gateway.logging_config import configure_logging
from edge_gateway.mqtt_ingest import subscribe
from edge_gateway.settings import Settings
from edge_gateway.store import StorageUnavailable, Store
from edge_gateway.sync import Forwarder
from edge_gateway.updates import Updater

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = Store(Path(settings.data_dir) / "gateway.sqlite3", settings.max_db_bytes)  # integrity-checked here
        classifier = Classifier()
        updater = Updater(settings, store, classifier)
        if not updater.load_active() and settings.bootstrap_bundle:
            bundle = Path(settings.bootstrap_bundle)
            envelope = json.loads((bundle / "bundle.json").read_text())
            try:
                updater.install(envelope, bundle / "model.onnx")
            except BundleRefused as exc:
                updater.refused(envelope, str(exc))
            except StorageUnavailable as exc:  # serve nothing rather than crash-loop; /health/ready says why
                log.error("cannot record the bootstrap bundle: %s", exc)
        gateway = Gateway(settings, store, classifier, Devices.from_file(Path(settings.devices_file)))
        forwarder = Forwarder(settings, store)
        tasks = [asyncio.create_task(forwarder.run())]
        if settings.mqtt_host:
            tasks.append(asyncio.create_task(subscribe(settings, gateway)))
        if settings.update_url:
            tasks.append(asyncio.create_task(updater.run()))
        app.state.settings, app.state.store, app.state.classifier = settings, store, classifier
        app.state.gateway, app.state.updater = gateway, updater
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await forwarder.close()
        store.close()

    app = FastAPI(
        title="Edge gateway",
        version="1.0.0",
        lifespan=lifespan,
        summary="Images from devices, classified on the box, stored in SQLite, forwarded when the cloud answers.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
