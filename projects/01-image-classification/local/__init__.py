"""Project 01's local recipe: EfficientNet-Lite0 on Triton (CPU) and the API (stack.py), and its
benchmark (bench.py: serving, then the edge deployments in bench_edge.py)."""

TITLE = "Image classification behind Triton"
TEACHES = "Triton model repository, dynamic batching, async gRPC client, problem+json errors"
TRY_IT = "curl -F image=@cat.jpg '{url}/v1/classify?top_k=3'"
