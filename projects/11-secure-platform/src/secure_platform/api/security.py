"""The request's caller: a Bearer token verified (tokens.py), not revoked, and allowed the action
(policies.py). What is learnt is kept on ``request.state`` for the audit trail."""

from __future__ import annotations

from fastapi import Request

from secure_platform.api.problem_details import Problem
from secure_platform.inference import Timings
from secure_platform.policies import Forbidden, authorize
from secure_platform.tokens import InvalidToken, Principal

CHALLENGE = 'Bearer realm="inference"'


def timings(request: Request) -> Timings:
    if not hasattr(request.state, "timings"):
        request.state.timings = Timings()
    return request.state.timings


def unauthenticated(request: Request, reason: str, error: str | None = "invalid_token") -> Problem:
    request.state.reason = reason
    challenge = f'{CHALLENGE}, error="{error}"' if error else CHALLENGE
    return Problem(401, "unauthenticated", reason, {"WWW-Authenticate": challenge})


# --8<-- [start:caller]
async def caller(request: Request) -> Principal:
    """The verified caller, or 401 (431 for a header too long to be a token)."""
    state = request.app.state
    header = request.headers.get("authorization")
    if header is None:
        raise unauthenticated(request, "this route needs a Bearer access token", error=None)
    if len(header) > state.settings.max_token_bytes:
        request.state.reason = "authorization header too long"
        raise Problem(
            431, "headers-too-large", f"the Authorization header is over {state.settings.max_token_bytes} bytes"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated(request, "the Authorization header is not 'Bearer <token>'", error="invalid_request")
    with timings(request).stage("token"):
        try:
            principal = await state.verifier.verify(token.strip())
        except InvalidToken as exc:
            raise unauthenticated(request, str(exc)) from None
    request.state.principal = principal
    if await state.limits.is_revoked(principal.token_id):
        raise unauthenticated(request, "the token was revoked (signed out)")
    return principal


# --8<-- [end:caller]


def allow(request: Request, principal: Principal, action: str, resource: str = "") -> None:
    """403 unless the policy allows ``action``; records the action for the audit either way."""
    request.state.action, request.state.resource = action, resource
    with timings(request).stage("policy"):
        try:
            authorize(principal, action)
        except Forbidden as exc:
            request.state.reason = str(exc)
            raise Problem(403, "forbidden", str(exc)) from None
