"""HTTP routes: models, predictions, the tenant's audit log, its admin switch, sign-out, health.

The tenant always comes from the verified token (``caller``), never from the path or the body."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from secure_platform.api.problem_details import Problem, not_ready, problem_doc
from secure_platform.api.schemas import (
    AuditEntry,
    Caller,
    EntitlementChange,
    HealthStatus,
    ModelInfo,
    PredictionRecord,
    PredictRequest,
    PredictResponse,
)
from secure_platform.api.security import allow, caller, timings
from secure_platform.audit import AuditRecord
from secure_platform.policies import visible_model, visible_models
from secure_platform.settings import ModelSpec
from secure_platform.tokens import Principal

router = APIRouter()
Authenticated = Annotated[Principal, Depends(caller)]
ModelName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]

COMMON: dict[int | str, dict[str, Any]] = {
    401: problem_doc("No token, or one that is not valid (expired, wrong issuer or audience, bad signature)."),
    403: problem_doc("The token lacks the scope or role this route needs."),
    429: problem_doc("A limit of the tenant's plan: rate, inferences at once, or the month's quota."),
    431: problem_doc("The Authorization header is too long to be a token."),
    503: problem_doc("A backend is down (Retry-After says when to retry)."),
}
NOT_FOUND = problem_doc("No such resource for this tenant (another tenant's is the same 404).")


def not_found(request: Request, what: str) -> Problem:
    request.state.reason = "not found"
    return Problem(404, "not-found", f"no {what} of that name for this tenant")


def model_for(request: Request, principal: Principal, name: str) -> ModelSpec:
    spec = visible_model(request.app.state.settings.models, principal.tenant, name)
    request.state.model = name
    if spec is None:
        raise not_found(request, "model")
    return spec


@router.get("/v1/me", response_model=Caller, responses=COMMON)
async def me(principal: Authenticated, request: Request) -> Caller:
    """Who the token says you are."""
    request.state.action = "me"
    return Caller(
        subject=principal.subject,
        tenant=principal.tenant,
        client_id=principal.client_id,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        expires_at=principal.expires_at,
    )


@router.get("/v1/models", response_model=list[ModelInfo], responses=COMMON)
async def list_models(principal: Authenticated, request: Request) -> list[ModelInfo]:
    """The shared models and the tenant's own, with whether its admin left them on."""
    allow(request, principal, "models.list", "models")
    disabled = await request.app.state.database.disabled_models(principal.tenant)
    return [
        ModelInfo(
            name=name,
            features=spec.features,
            labels=spec.labels,
            owned=spec.owner is not None,
            enabled=name not in disabled,
        )
        for name, spec in visible_models(request.app.state.settings.models, principal.tenant).items()
    ]


# --8<-- [start:predict]
@router.post(
    "/v1/models/{name}/predict",
    response_model=PredictResponse,
    responses={**COMMON, 404: NOT_FOUND, 422: problem_doc("Rows of the wrong width, or too many.")},
)
async def predict(
    name: ModelName, body: PredictRequest, principal: Authenticated, request: Request, response: Response
) -> PredictResponse:
    """Run the model on the rows; the prediction (a hash of its input, not the input) and its audit
    record are stored together."""
    state, t = request.app.state, timings(request)
    allow(request, principal, "models.predict", f"model:{name}")
    spec = model_for(request, principal, name)
    if name in await state.database.disabled_models(principal.tenant):
        request.state.reason = "model switched off by the tenant's admin"
        raise Problem(403, "forbidden", f"this tenant's admin has switched {name} off")
    if len(body.inputs) > state.settings.max_rows:
        raise Problem(422, "invalid-input", f"at most {state.settings.max_rows} rows per request")
    if any(len(row) != spec.features for row in body.inputs):
        raise Problem(422, "invalid-input", f"{name} takes rows of {spec.features} numbers")
    answer = await state.inference.predict(principal, name, spec, body.inputs, correlation_id.get() or "", t)
    request.state.audited = True
    response.headers["RateLimit-Limit"] = str(answer.admission.limit)
    response.headers["RateLimit-Remaining"] = str(answer.admission.remaining)
    response.headers["Server-Timing"] = t.header()
    return PredictResponse(
        id=answer.prediction_id, model=name, labels=answer.labels, probabilities=answer.probabilities
    )


# --8<-- [end:predict]


@router.get("/v1/predictions", response_model=list[PredictionRecord], responses=COMMON)
async def list_predictions(
    principal: Authenticated, request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[dict[str, Any]]:
    """The tenant's latest predictions."""
    allow(request, principal, "predictions.read", "predictions")
    return await request.app.state.database.predictions(principal.tenant, limit)


@router.get("/v1/predictions/{prediction_id}", response_model=PredictionRecord, responses={**COMMON, 404: NOT_FOUND})
async def get_prediction(prediction_id: uuid.UUID, principal: Authenticated, request: Request) -> dict[str, Any]:
    allow(request, principal, "predictions.read", f"prediction:{prediction_id}")
    row = await request.app.state.database.prediction(principal.tenant, prediction_id)
    if row is None:
        raise not_found(request, "prediction")
    return row


@router.get("/v1/audit", response_model=list[AuditEntry], responses=COMMON)
async def read_audit(
    principal: Authenticated,
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The tenant's own audit records after sequence number ``after`` (tenant admins only)."""
    allow(request, principal, "audit.read", "audit")
    return await request.app.state.database.audit_records(principal.tenant, after, limit)


@router.put("/v1/admin/models/{name}", response_model=ModelInfo, responses={**COMMON, 404: NOT_FOUND})
async def entitle(name: ModelName, change: EntitlementChange, principal: Authenticated, request: Request) -> ModelInfo:
    """Switch a model on or off for the caller's tenant (tenant admins only)."""
    allow(request, principal, "models.entitle", f"model:{name}")
    spec = model_for(request, principal, name)
    record = AuditRecord(
        action="models.entitle",
        decision="allow",
        status=200,
        request_id=correlation_id.get() or "",
        tenant=principal.tenant,
        subject=principal.subject,
        client_id=principal.client_id,
        resource=f"model:{name}",
        model=name,
        reason="enabled" if change.enabled else "disabled",
    )
    await request.app.state.database.set_entitlement(principal.tenant, name, change.enabled, principal.subject, record)
    request.state.audited = True
    return ModelInfo(
        name=name, features=spec.features, labels=spec.labels, owned=spec.owner is not None, enabled=change.enabled
    )


@router.post("/v1/auth/logout", status_code=204, responses=COMMON)
async def logout(principal: Authenticated, request: Request) -> Response:
    """Sign out: this token is refused from now on, until it would have expired anyway."""
    request.state.action, request.state.resource = "auth.logout", f"token:{principal.token_id}"
    await request.app.state.limits.revoke(principal.token_id, principal.expires_at)
    return Response(status_code=204)


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", response_model=HealthStatus, responses={503: problem_doc("A backend is not ready.")})
async def ready(request: Request) -> HealthStatus:
    """Ready when the provider's keys, Triton's first shared model, PostgreSQL and Redis all answer."""
    state = request.app.state

    async def redis_ok() -> bool:
        try:
            return bool(await state.redis.ping())
        except Exception:  # any failure to answer is "not ready"
            return False

    identity, triton, database, redis = await asyncio.gather(
        state.verifier.ready(), state.models.is_ready(state.ready_model), state.database.ping(), redis_ok()
    )
    checks = {"identity-provider": identity, "triton": triton, "postgresql": database, "redis": redis}
    missing = [name for name, ok in checks.items() if not ok]
    if missing:
        raise not_ready(missing, state.settings.retry_after_s)
    return HealthStatus(status="ok", identity_provider=identity, triton=triton, database=database, redis=redis)
