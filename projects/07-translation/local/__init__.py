"""Project 07's local recipe: Redis, S3 (SeaweedFS), llama.cpp serving Gemma 3 270M, the API and a
document worker (stack.py); the model builds (models.py, quantize.py); its benchmark (bench.py)."""

TITLE = "Cost-optimised translation: pay for each sentence once"
TEACHES = "quantisation with its quality price, a translation memory, routing by cost, spot workers with checkpoints"
# A str.format template ({url} is filled in): the JSON body's braces are doubled.
TRY_IT = (
    "curl -H 'Content-Type: application/json' "
    """-d '{{"text": "Your password has expired. Please choose a new one."}}' {url}/v1/translate"""
)
