"""Project 06's local recipe: PostgreSQL, Redis, an SMTP relay, the LLM server, project 03's course
search, the triage classifier trained once, the API (with its SMTP listener) and a worker
(stack.py); its benchmark (bench.py)."""

TITLE = "Email assistant: an agent that waits for a person"
TEACHES = "LangGraph with PostgreSQL checkpoints, tools under a schema, human approval, a decision log"
# example.eml: a question a reader of the course might send; the answer waits in /v1/approvals
TRY_IT = (
    "curl -H 'Content-Type: message/rfc822' --data-binary @projects/06-email-assistant/example.eml {url}/v1/messages"
)
