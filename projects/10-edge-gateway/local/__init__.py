"""Project 10's local recipe: the model files built once per machine, a signed bundle, Mosquitto,
the cloud (results and bundles, cloud.py) and the gateway (stack.py); the publisher's signing key
and bundles (publisher.py); its benchmark (bench.py)."""

TITLE = "Edge gateway: offline-first, store-and-forward, signed model updates"
TEACHES = "offline-first design, int8 at the edge, SQLite at the edge, store-and-forward, signed updates"
TRY_IT = "curl {url}/v1/status   # a photo: python projects/10-edge-gateway/client.py photo.jpg --keys <device keys>"
