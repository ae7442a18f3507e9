"""Access-token validation: the provider is found by discovery, its keys by ``kid`` from the JWKS.

The service knows only the issuer's URL. ``/.well-known/openid-configuration`` names the JWKS;
keys are cached and fetched again when a token names a ``kid`` the cache lacks (a key rotation),
at most once per ``jwks_min_refresh_s`` so that tokens with made-up ``kid`` values cannot make the
service hammer the provider. PyJWT checks the signature with the allowed algorithms only (so
``alg: none`` and an HS256 token "signed" with the public key are refused), and ``iss``, ``aud``,
``exp``, ``nbf`` and ``iat`` with a small leeway."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

import httpx
import jwt
from prometheus_client import Counter

from secure_platform.settings import Settings

JWKS_FETCHES = Counter("secure_platform_jwks_fetches", "Fetches of the provider's JWKS (start, rotation, unknown kid).")
TENANT = re.compile(r"[a-z][a-z0-9-]{0,62}")


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for the log and the audit, not secrets)."""


class ProviderUnavailable(Exception):
    """The provider's discovery document or JWKS cannot be fetched, and no cached key fits."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the provider vouches: everything here comes from a verified token."""

    subject: str
    tenant: str
    client_id: str
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str
    expires_at: int


class TokenVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient):
        self.settings, self.http = settings, http
        self.jwks_uri: str | None = None
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def discover(self) -> None:
        """Read the discovery document; refuse a provider that names another issuer."""
        base = self.settings.provider_url or self.settings.issuer
        url = base.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = await self.http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"discovery at {url} failed: {exc}") from None
        if document.get("issuer") != self.settings.issuer:
            raise ProviderUnavailable(f"{url} names issuer {document.get('issuer')!r}, not {self.settings.issuer!r}")
        self.jwks_uri = document["jwks_uri"]

    async def _refresh(self) -> None:
        if self.jwks_uri is None:
            await self.discover()
        assert self.jwks_uri is not None
        try:
            response = await self.http.get(self.jwks_uri)
            response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            raise ProviderUnavailable(f"JWKS at {self.jwks_uri} could not be read: {exc}") from None
        finally:
            self.fetched_at = time.monotonic()
        JWKS_FETCHES.inc()
        self.keys = {key.key_id: key for key in key_set.keys if key.key_id and key.public_key_use in (None, "sig")}

    async def ready(self) -> bool:
        """At least one signing key is known (fetching it if none is)."""
        if not self.keys:
            async with self._lock:
                if not self.keys and time.monotonic() - self.fetched_at >= 1:
                    try:
                        await self._refresh()
                    except ProviderUnavailable:
                        return False
        return bool(self.keys)

    # --8<-- [start:key]
    async def key_for(self, kid: str) -> jwt.PyJWK:
        """The key named ``kid``; an unknown one triggers one rate-limited JWKS fetch."""
        if kid not in self.keys:
            async with self._lock:
                recently = time.monotonic() - self.fetched_at < self.settings.jwks_min_refresh_s
                if kid not in self.keys and not recently:
                    await self._refresh()
        if kid not in self.keys:
            raise InvalidToken("the token's key (kid) is not one of the provider's keys")
        return self.keys[kid]

    # --8<-- [end:key]

    # --8<-- [start:verify]
    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidToken("not a JWT") from None
        if header.get("alg") not in self.settings.algorithms:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        if not isinstance(header.get("kid"), str):
            raise InvalidToken("the token names no key (kid)")
        key = await self.key_for(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.settings.algorithms,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        return principal_of(claims)

    # --8<-- [end:verify]


def principal_of(claims: dict) -> Principal:
    """The caller from verified claims. The tenant claim is required and must look like one."""
    tenant, roles, scope = claims.get("tenant"), claims.get("roles", []), claims.get("scope", "")
    if not isinstance(tenant, str) or not TENANT.fullmatch(tenant):
        raise InvalidToken("the token carries no valid tenant claim")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken("the roles claim is not a list of names")
    if not isinstance(scope, str):
        raise InvalidToken("the scope claim is not a string")
    client_id = claims.get("client_id") or claims.get("azp") or ""
    return Principal(
        subject=str(claims["sub"]),
        tenant=tenant,
        client_id=str(client_id),
        roles=frozenset(roles),
        scopes=frozenset(scope.split()),
        token_id=str(claims.get("jti", "")),
        expires_at=int(claims["exp"]),
    )
