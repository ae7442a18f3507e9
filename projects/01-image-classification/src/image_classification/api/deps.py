"""Dependencies the routes declare: settings and the classifier, both built once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from image_classification.services.classifier import Classifier, ModelBackend
from image_classification.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_backend(request: Request) -> ModelBackend:
    return request.app.state.backend


def get_classifier(request: Request) -> Classifier:
    return request.app.state.classifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendDep = Annotated[ModelBackend, Depends(get_backend)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
