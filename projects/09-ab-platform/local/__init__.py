"""Project 09's local recipe: the labelled tweets and the MiniLM files, two heads trained once per
machine, Triton serving three sentiment models, PostgreSQL, the API and Prometheus (stack.py); its
benchmark (bench.py); the decision rule's simulations (simulation.py)."""

TITLE = "A/B platform: shadow, canary and A/B rollouts of sentiment models"
TEACHES = "sticky assignment, shadow and canary, sequential tests (mSPRT), SRM checks, guardrails, automatic rollback"
TRY_IT = (
    'curl -H \'Content-Type: application/json\' -d \'{{"text": "I love this airline", "unit_id": "user-1"}}\''
    " {url}/v1/predict"
)
