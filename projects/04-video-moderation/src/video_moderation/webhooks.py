"""Signed webhooks: the receiver can check that a notification comes from this service and is fresh;
and only public addresses are called, unless an allow-list says otherwise."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Sequence

import httpx

SIGNATURE_HEADER = "X-Moderation-Signature"


# --8<-- [start:sign]
def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the timestamp is signed too, so a
    captured notification cannot be replayed later with a new time."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, max_age_s: int = 300, now: float | None = None) -> bool:
    """What a receiver runs: recompute, compare in constant time, refuse old timestamps."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


# --8<-- [end:sign]


def backoff_s(first_s: float, attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: first_s, 2 x first_s, 4 x first_s, ..."""
    return first_s * 2 ** (attempt - 1)


class WebhookTargetRefused(ValueError):
    """The webhook URL points somewhere this service must not call."""


# --8<-- [start:ssrf]
def resolve_webhook_target(url: str, allowed_networks: Sequence[str] = ()) -> list[str]:
    """The addresses to connect to for ``url``, once they are known to be safe to call.

    A webhook URL is chosen by the client, and the service calls it from inside its own network:
    without a check it would reach the cloud's metadata address (169.254.169.254), Redis on
    localhost or any private host (server-side request forgery). Every address the name resolves to
    must be public, or inside ``allowed_networks``; the caller then connects to the addresses returned
    here, so DNS cannot answer with another address between the check and the connection.
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookTargetRefused(f"{url!r} is not an http(s) URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        resolved = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookTargetRefused(f"{parsed.host} does not resolve: {exc}") from None
    allowed = [ipaddress.ip_network(network) for network in allowed_networks]
    addresses = [ipaddress.ip_address(info[4][0]) for info in resolved]
    for address in addresses:
        if not address.is_global and not any(address in network for network in allowed):
            raise WebhookTargetRefused(f"{parsed.host} resolves to {address}, which is not a public address")
    return list(dict.fromkeys(str(address) for address in addresses))  # in the resolver's order, once each


def post_to_addresses(
    url: str, addresses: Sequence[str], body: bytes, headers: dict[str, str], timeout_s: float
) -> httpx.Response:
    """POST to ``url`` over a connection to the first checked address that accepts one: the Host
    header, and for HTTPS the TLS server name and certificate check, still use the URL's host name."""
    parsed = httpx.URL(url)
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    refused: httpx.ConnectError | None = None
    with httpx.Client(timeout=timeout_s) as client:
        for address in addresses:
            try:
                return client.request(
                    "POST",
                    str(parsed.copy_with(host=address)),
                    content=body,
                    headers={**headers, "Host": parsed.netloc.decode("ascii")},
                    extensions=extensions,
                )
            except httpx.ConnectError as exc:  # e.g. IPv6 first, and the receiver listens on IPv4 only
                refused = exc
    assert refused is not None, "resolve_webhook_target returns at least one address"
    raise refused


# --8<-- [end:ssrf]
