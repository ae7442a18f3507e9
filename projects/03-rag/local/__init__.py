"""Project 03's local recipe: embeddings on Triton, Milvus Lite, an LLM server, the API, and the
course indexed into it (stack.py); its benchmark (bench.py; the agent part in bench_agent.py)."""

TITLE = "RAG: ask the course"
TEACHES = "embeddings on Triton, Milvus, citations, retrieval quality measured"
TRY_IT = "curl -N -H 'Content-Type: application/json' -d '{{\"question\": \"What is dynamic batching?\"}}' {url}/v1/ask"
