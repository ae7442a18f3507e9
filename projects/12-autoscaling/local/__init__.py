"""Project 12's local recipe: a Ray cluster of one node, the LLM deployment on Ray Serve whose
replicas each run llama.cpp with SmolLM2, and the router (stack.py); its benchmark (bench.py)."""

TITLE = "Autoscaling LLM service"
TEACHES = "queue-based autoscaling on Ray Serve, scale to zero and cold starts, open-loop load, cost per policy"
TRY_IT = (
    'curl -N -H \'Content-Type: application/json\' -d \'{{"messages": [{{"role": "user", '
    '"content": "Say hello"}}], "stream": true}}\' {url}/v1/chat/completions'
)
