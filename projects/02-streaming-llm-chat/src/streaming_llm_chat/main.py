"""The app factory: ``uvicorn --factory streaming_llm_chat.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from streaming_llm_chat import metrics as chat_metrics
from streaming_llm_chat.api.middleware import install_middleware
from streaming_llm_chat.api.problems import install_problem_handlers
from streaming_llm_chat.api.routes import router
from streaming_llm_chat.conversation_store import ConversationStore, redis_client
from streaming_llm_chat.llm_client import LLMClient
from streaming_llm_chat.logging_config import configure_logging
from streaming_llm_chat.services.admission import Admission
from streaming_llm_chat.services.chat import ChatService
from streaming_llm_chat.services.context import TokenCounter
from streaming_llm_chat.services.routing import LLMRouter
from streaming_llm_chat.services.tenants import TenantDirectory, TenantSlots
from streaming_llm_chat.settings import Settings
from streaming_llm_chat.tenant_quota import TokenQuota

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        llm = LLMRouter(
            [
                LLMClient(url, settings.llm_model, settings.llm_timeout_s)
                for url in (settings.llm_base_url, *settings.llm_replica_urls)
            ],
            settings.llm_routing,
        )
        shared_redis = redis_client(settings.redis_url)  # history, locks and token quotas: one pool
        store = ConversationStore(shared_redis, settings.history_ttl_s, settings.max_history_messages)
        counter = TokenCounter(settings.tokenizer_file)
        counter.count("warm-up")  # load the tokenizer now, not on the first message
        admission = Admission(settings.max_concurrent_streams, settings.max_waiting, settings.queue_timeout_s)
        chat_metrics.QUEUE_DEPTH.set_function(lambda: admission.waiting)
        chat_metrics.ACTIVE_STREAMS.set_function(lambda: admission.active)
        quota = TokenQuota(shared_redis, settings.tenant_quota_window_s)
        app.state.settings = settings
        app.state.tenants = TenantDirectory(settings.tenants)
        app.state.chat = ChatService(settings, llm, store, counter, admission, TenantSlots(), quota)
        yield
        await llm.close()
        await shared_redis.aclose()

    app = FastAPI(
        title="Streaming LLM chat",
        version="1.0.0",
        lifespan=lifespan,
        summary="Customer-support chat: tokens streamed as Server-Sent Events, history in Redis.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, MAX_BODY_BYTES)
    return app
