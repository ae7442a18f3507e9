"""Dependencies the routes declare; everything is built once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from streaming_chat.services.chat import ChatService
from streaming_chat.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_chat(request: Request) -> ChatService:
    return request.app.state.chat


SettingsDep = Annotated[Settings, Depends(get_settings)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
ConversationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                     description="Chosen by the client: letters, digits, '-' and '_'.")]
