"""A device of the edge gateway: sign a photo with the device's key and send it, over HTTP or MQTT.

    python client.py photo.jpg --device camera-entrance [--key HEX | --keys devices.json]
                     [--url http://127.0.0.1:8000 | --mqtt 127.0.0.1:1883]

Needs httpx (HTTP) or paho-mqtt (MQTT). The signature is HMAC-SHA256 over the device id, the
capture time and the image's SHA-256, with the device's own key (the gateway's allow-list holds
one key per device). Over HTTP the answer comes back at once; over MQTT the gateway counts the
message and the result appears in its status and, later, in the cloud. Errors over HTTP come back
as problem+json (RFC 9457): their `type` says what went wrong, `detail` says why.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


# --8<-- [start:sign]
def signed(device: str, key: str, image: bytes, captured_at: str | None = None) -> dict[str, str]:
    """What the gateway needs besides the image: who, when, and proof of both."""
    captured_at = captured_at or datetime.now(UTC).isoformat()
    message = f"{device}\n{captured_at}\n{hashlib.sha256(image).hexdigest()}".encode()
    signature = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Device-Id": device, "X-Captured-At": captured_at, "X-Signature": signature}


def send_http(url: str, device: str, key: str, image: bytes) -> dict:
    import httpx

    response = httpx.post(
        f"{url}/v1/classify", files={"image": ("image", image)}, headers=signed(device, key, image), timeout=30
    )
    if response.status_code != 200:
        problem = response.json()
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


def send_mqtt(broker: str, device: str, key: str, image: bytes) -> None:
    import paho.mqtt.publish as publish

    headers = signed(device, key, image)
    payload = {
        "captured_at": headers["X-Captured-At"],
        "signature": headers["X-Signature"],
        "image_b64": base64.b64encode(image).decode(),
    }
    host, _, port = broker.partition(":")
    publish.single(f"devices/{device}/images", json.dumps(payload), qos=1, hostname=host, port=int(port or 1883))


# --8<-- [end:sign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--device", default="camera-entrance")
    parser.add_argument("--key", help="The device's key (hex).")
    parser.add_argument("--keys", type=Path, help="Or a devices.json to read it from.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--mqtt", help="host:port of the broker: send over MQTT instead of HTTP.")
    args = parser.parse_args(argv)
    key = args.key or (json.loads(args.keys.read_text())[args.device] if args.keys else None)
    if key is None:
        parser.error("give --key or --keys")
    image = args.image.read_bytes()
    if args.mqtt:
        send_mqtt(args.mqtt, args.device, key, image)
        print(f"published to devices/{args.device}/images")
        return
    answer = send_http(args.url, args.device, key, image)
    cached = " (from the cache)" if answer["cached"] else ""
    model, result = answer["model_version"], answer["result_id"]
    print(f"{answer['label']} {answer['score']:.2f}{cached}, model {model}, result {result}")


if __name__ == "__main__":
    main(sys.argv[1:])
