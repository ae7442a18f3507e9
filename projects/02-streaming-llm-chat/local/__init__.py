"""Project 02's local recipe: Redis, an OpenAI-compatible LLM server and the chat API (stack.py),
and its benchmark (bench.py; the tenant part in bench_tenants.py)."""

TITLE = "Streaming LLM chat"
TEACHES = "SSE streaming, Redis conversation context, backpressure, cancel on disconnect"
TRY_IT = (
    "curl -N -H 'Content-Type: application/json' -d '{{\"content\": \"Hello!\"}}' {url}/v1/conversations/demo/messages"
)
