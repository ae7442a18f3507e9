"""Dependencies the routes declare: settings and the classifier, both built once in the lifespan.

They are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread, one thread
hop per dependency per request, to read an attribute (measured: see the overhead part of the benchmark)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from image_classification.services.classifier import Classifier, ModelBackend
from image_classification.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_backend(request: Request) -> ModelBackend:
    return request.app.state.backend


async def get_classifier(request: Request) -> Classifier:
    return request.app.state.classifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendDep = Annotated[ModelBackend, Depends(get_backend)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
