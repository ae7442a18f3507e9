"""Prometheus metrics of the RAG pipeline, on top of the HTTP metrics from the instrumentator."""

from prometheus_client import Counter, Histogram

STAGE_SECONDS = Histogram(
    "rag_stage_seconds",
    "Time spent in one stage of answering a question.",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ANSWERS = Counter("rag_answers_total", "Answers given, by how they were produced.", ["mode"])
TOP_SCORE = Histogram(
    "rag_top_score",
    "Cosine score of the best chunk for each question.",
    buckets=(0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
DOCUMENTS_INGESTED = Counter("rag_documents_ingested_total", "Documents ingested, by outcome.", ["outcome"])
CHUNKS_EMBEDDED = Counter("rag_chunks_embedded_total", "Chunks embedded and stored.")
BACKEND_ERRORS = Counter("rag_backend_errors_total", "Calls that failed because a backend was down.", ["backend"])
AGENT_STEPS = Counter("rag_agent_steps_total", "Agent steps, by the tool the model chose (or 'invalid').", ["tool"])
AGENT_RUNS = Counter("rag_agent_runs_total", "Agent runs, by how they ended.", ["finished"])
