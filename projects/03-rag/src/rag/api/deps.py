"""Dependencies the routes declare; everything is built once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.services.agent import Agent
from rag.services.answering import Answerer
from rag.services.ingestion import Ingestion
from rag.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_answerer(request: Request) -> Answerer:
    return request.app.state.answerer


async def get_agent(request: Request) -> Agent:
    return request.app.state.agent


async def get_ingestion(request: Request) -> Ingestion:
    return request.app.state.ingestion


SettingsDep = Annotated[Settings, Depends(get_settings)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
IngestionDep = Annotated[Ingestion, Depends(get_ingestion)]
AgentDep = Annotated[Agent, Depends(get_agent)]
