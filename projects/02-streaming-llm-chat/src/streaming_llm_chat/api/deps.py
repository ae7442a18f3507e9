"""Dependencies the routes declare; everything is built once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from streaming_llm_chat.services.chat import ChatService
from streaming_llm_chat.services.tenants import TenantDirectory
from streaming_llm_chat.settings import Settings, TenantConfig

bearer = HTTPBearer(auto_error=False, description="The tenant's API key (when tenants are configured).")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_chat(request: Request) -> ChatService:
    return request.app.state.chat


# --8<-- [start:tenant-dep]
def get_tenant(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> TenantConfig:
    directory: TenantDirectory = request.app.state.tenants
    return directory.authenticate(credentials.credentials if credentials else None)  # or 401


# --8<-- [end:tenant-dep]


SettingsDep = Annotated[Settings, Depends(get_settings)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
TenantDep = Annotated[TenantConfig, Depends(get_tenant)]
ConversationId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Chosen by the client: letters, digits, '-' and '_'.")
]
