"""Dependencies the routes declare: settings and the classifier, both built once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from image_classification.services.classifier import Classifier
from image_classification.settings import Settings
from image_classification.triton_client import TritonClassifierClient


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_triton(request: Request) -> TritonClassifierClient:
    return request.app.state.triton


def get_classifier(request: Request) -> Classifier:
    return request.app.state.classifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
TritonDep = Annotated[TritonClassifierClient, Depends(get_triton)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
