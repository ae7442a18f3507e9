"""The app factory: ``uvicorn --factory rag.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from rag.api.middleware import install_middleware
from rag.api.problems import install_problem_handlers
from rag.api.routes import router
from rag.embedding_client import EmbeddingClient
from rag.llm_client import LLMClient
from rag.logging_config import configure_logging
from rag.services.agent import Agent
from rag.services.answering import Answerer
from rag.services.ingestion import Ingestion
from rag.settings import Settings
from rag.tracing import Tracing
from rag.vector_store import VectorStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    tracing = Tracing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        embedder = EmbeddingClient(
            settings.triton_url, settings.embedding_model, settings.tokenizer_file, settings.backend_timeout_s
        )
        store = VectorStore(settings.milvus_uri, settings.collection, settings.backend_timeout_s)
        llm = LLMClient(settings.llm_base_url, settings.llm_model, settings.llm_timeout_s)
        app.state.settings = settings
        app.state.answerer = Answerer(
            embedder,
            store,
            llm,
            settings.min_relevance,
            settings.answer_max_tokens,
            tracing.tracer,
            settings.answer_quotes,
            settings.quote_min_score,
        )
        app.state.agent = Agent(app.state.answerer, llm, settings.llm_structured_output, settings.agent_search_k)
        app.state.ingestion = Ingestion(embedder, store, settings.chunk_tokens, settings.chunk_overlap_tokens)
        yield
        await embedder.close()
        await llm.close()
        store.close()
        tracing.shutdown()

    app = FastAPI(
        title="Ask the course",
        version="1.0.0",
        lifespan=lifespan,
        summary="Questions about the course answered from its own pages, with citations.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_document_bytes + 64 * 1024)
    tracing.instrument(app)
    return app
