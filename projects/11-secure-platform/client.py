"""A machine client of the platform: get a token from the OpenID provider (client credentials),
call a model, read the prediction back, and (an admin client) read the tenant's audit log.

    python client.py --client acme-batch --model digits
    python client.py --client acme-admin --audit

Credentials: ``--issuer`` and ``--secret``, or the file `study up secure-platform` writes for the
local stack (``--credentials``; by default the one in the study's cache folder)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

# The first held-out digit of scikit-learn's set (an 8x8 image, 0..16 per pixel): a "3".
A_DIGIT = [0, 1, 10, 16, 16, 11, 0, 0, 0, 5, 10, 8, 12, 16, 4, 0, 0, 0, 0, 1, 10, 14, 0, 0, 0, 0, 0, 6, 16, 4,
           0, 0, 0, 0, 0, 7, 16, 5, 0, 0, 0, 0, 0, 1, 12, 16, 4, 0, 0, 0, 2, 4, 9, 16, 4, 0, 0, 1, 15, 14, 11, 4,
           0, 0]  # fmt: skip


def default_credentials() -> Path:
    from platformdirs import user_cache_dir

    root = os.environ.get("STUDY_CACHE_DIR") or user_cache_dir("ai-inference-study")
    return Path(root) / "secure-platform" / "local-credentials.json"


# --8<-- [start:token]
def client_token(issuer: str, client_id: str, secret: str, scope: str | None = None) -> str:
    """Discover the token endpoint, then ask for a token with the client's own credentials."""
    with httpx.Client(timeout=10) as http:
        config = http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration").raise_for_status().json()
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        answer = http.post(config["token_endpoint"], data=data, auth=(client_id, secret))
    if answer.status_code != 200:
        raise SystemExit(f"the provider refused a token: {answer.text}")
    return answer.json()["access_token"]


# --8<-- [end:token]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", help="the API's base URL (default: the local stack's)")
    parser.add_argument("--issuer", help="the OpenID provider (default: the local stack's)")
    parser.add_argument("--client", default="acme-batch", help="client id")
    parser.add_argument("--secret", help="client secret (default: from --credentials)")
    parser.add_argument("--scope", help="scopes to ask for (default: all the client may have)")
    parser.add_argument("--credentials", type=Path, default=None, help="file written by `study up secure-platform`")
    parser.add_argument("--model", default="digits")
    parser.add_argument("--audit", action="store_true", help="print the tenant's latest audit records instead")
    args = parser.parse_args()

    local = {}
    path = args.credentials or default_credentials()
    if path.exists():
        local = json.loads(path.read_text())
    api, issuer = args.api or local.get("api"), args.issuer or local.get("issuer")
    secret = args.secret or local.get("clients", {}).get(args.client)
    if not (api and issuer and secret):
        raise SystemExit(f"give --api, --issuer and --secret, or start the local stack (it writes {path})")
    scope = (
        args.scope or local.get("scopes", {}).get(args.client) or ("audit:read" if args.audit else "inference:invoke")
    )
    token = client_token(issuer, args.client, secret, scope)

    with httpx.Client(base_url=api.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        print(json.dumps(http.get("/v1/me").json()))
        if args.audit:
            answer = http.get("/v1/audit", params={"limit": 500})
            print(answer.status_code, json.dumps(answer.json()[-5:] if answer.is_success else answer.json(), indent=1))
            return 0 if answer.is_success else 1
        models = http.get("/v1/models").json()
        print("models:", [m["name"] for m in models] if isinstance(models, list) else models)
        answer = http.post(f"/v1/models/{args.model}/predict", json={"inputs": [A_DIGIT]})
        print(answer.status_code, answer.headers.get("Server-Timing", ""), json.dumps(answer.json()))
        if not answer.is_success:
            return 1
        stored = http.get(f"/v1/predictions/{answer.json()['id']}")
        print("stored:", json.dumps(stored.json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
