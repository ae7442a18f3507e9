"""The local OpenID provider (identity/provider.mjs on Node, the `oidc-provider` package) as a
process: its npm install (once per machine), signing keys and secrets generated per run, key
rotation, and the two ways to get a token (client credentials, and a person's authorization code
with PKCE, through the sign-in form as a browser would)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from study.errors import StudyError
from study.paths import cache_dir
from study.processes import ManagedProcess, free_port

IDENTITY_DIR = Path(__file__).resolve().parents[1] / "identity"
CATALOG = json.loads((IDENTITY_DIR / "tenants.json").read_text())


def ensure_node_modules(report=print) -> Path:
    """identity/ with its npm packages, in the cache (keyed by package.json). npm writes no lock
    file: package.json pins the provider's version."""
    package = (IDENTITY_DIR / "package.json").read_bytes()
    target = cache_dir() / "node" / f"secure-platform-identity-{hashlib.sha256(package).hexdigest()[:12]}"
    if (target / "node_modules" / "oidc-provider" / "package.json").exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise StudyError("project 11's local OpenID provider needs Node.js 20+ and npm (apt-get install nodejs npm)")
    report("installing the OpenID provider (npm install oidc-provider, once per machine)")
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy(IDENTITY_DIR / "package.json", staging / "package.json")
    done = subprocess.run(
        [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--omit=dev"],
        cwd=staging,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise StudyError(f"npm install failed:\n{done.stderr[-2000:]}")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target


def new_signing_key(kid: str) -> dict:
    """An RSA private key as a JWK (what oidc-provider signs with)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return jwk


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class LocalProvider:
    run_dir: Path
    port: int = field(default_factory=free_port)
    token_ttl_s: int = 300
    keys: list[dict] = field(default_factory=list)  # private JWKs, the first one signs
    secrets: dict = field(default_factory=dict)
    process: ManagedProcess | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def audience(self) -> str:
        return CATALOG["audience"]

    def start(self, report=print) -> None:
        modules = ensure_node_modules(report)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.keys:
            self.keys = [new_signing_key(f"key-{secrets.token_hex(4)}")]
        if not self.secrets:
            self.secrets = {
                "clients": {client["client_id"]: secrets.token_urlsafe(24) for client in CATALOG["clients"]},
                "users": {user["username"]: secrets.token_urlsafe(12) for user in CATALOG["users"]},
            }
        (self.run_dir / "jwks.json").write_text(json.dumps({"keys": self.keys}))
        (self.run_dir / "secrets.json").write_text(json.dumps(self.secrets))
        (self.run_dir / "jwks.json").chmod(0o600)
        (self.run_dir / "secrets.json").chmod(0o600)
        self.process = ManagedProcess(
            "oidc-provider",
            ["node", str(self._linked_entry(modules))],
            self.run_dir / "provider.log",
            env={
                "ISSUER": self.issuer,
                "PORT": str(self.port),
                "TENANTS_FILE": str(IDENTITY_DIR / "tenants.json"),
                "SECRETS_FILE": str(self.run_dir / "secrets.json"),
                "JWKS_FILE": str(self.run_dir / "jwks.json"),
                "TOKEN_TTL_S": str(self.token_ttl_s),
            },
            url=self.issuer,
        )
        self.process.start()
        self.process.wait_http_ok(f"{self.issuer}/.well-known/openid-configuration", timeout_s=30)

    def _linked_entry(self, modules: Path) -> Path:
        """ES modules resolve packages from the file's own folder upwards (not NODE_PATH): the
        provider runs as a copy placed beside the installed node_modules."""
        entry = modules / "provider.mjs"
        source = (IDENTITY_DIR / "provider.mjs").read_text()
        if not entry.exists() or entry.read_text() != source:
            entry.write_text(source)
        return entry

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def rotate(self, report=print) -> str:
        """A new signing key, first in the set; the old ones stay published so that tokens they
        signed verify until they expire. Restarts the provider on the same port. Returns the new kid."""
        self.stop()
        kid = f"key-{secrets.token_hex(4)}"
        self.keys = [new_signing_key(kid), *self.keys]
        self.start(report)
        return kid

    def client_token(self, client_id: str, scope: str | None = None) -> str:
        """A machine client's access token (client-credentials grant)."""
        client = next(c for c in CATALOG["clients"] if c["client_id"] == client_id)
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "scope": scope if scope is not None else client["scope"]},
            auth=(client_id, self.secrets["clients"][client_id]),
            timeout=10,
        )
        if response.status_code != 200:
            raise StudyError(f"the provider refused a token to {client_id}: {response.text}")
        return response.json()["access_token"]

    # --8<-- [start:login]
    def person_token(self, username: str, password: str | None = None, scope: str | None = None) -> str:
        """A person's access token: authorization code with PKCE, signing in on the provider's form."""
        console = CATALOG["people_client"]
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        with httpx.Client(base_url=self.issuer, timeout=10) as browser:
            page = browser.get(
                "/auth",
                params={
                    "client_id": console["client_id"],
                    "response_type": "code",
                    "redirect_uri": console["redirect_uri"],
                    "scope": scope or console["scope"],
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "state": state,
                    "resource": self.audience,
                },
                follow_redirects=True,
            )
            form = re.search(r'<form method="post" action="([^"]+)"', page.text)
            if form is None:
                raise StudyError(f"no sign-in form: {page.status_code} {page.text[:300]}")
            password = password if password is not None else self.secrets["users"][username]
            answer = browser.post(form.group(1), data={"username": username, "password": password})
            while answer.is_redirect and not answer.headers["location"].startswith(console["redirect_uri"]):
                answer = browser.get(answer.headers["location"])
            if not answer.is_redirect:
                raise StudyError(f"sign-in refused ({answer.status_code})")
            query = parse_qs(urlparse(answer.headers["location"]).query)
            if query.get("state") != [state]:
                raise StudyError("the provider answered with another state")
            token = browser.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": query["code"][0],
                    "redirect_uri": console["redirect_uri"],
                    "client_id": console["client_id"],
                    "code_verifier": verifier,
                    "resource": self.audience,
                },
            )
            if token.status_code != 200:
                raise StudyError(f"code exchange refused: {token.text}")
            return token.json()["access_token"]

    # --8<-- [end:login]
