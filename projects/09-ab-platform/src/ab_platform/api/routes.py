"""HTTP routes: predict, feedback, experiments (create, change, evaluate, report, replay), health."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from ab_platform.api.problem_details import Problem, not_ready, problem_doc
from ab_platform.api.schemas import (
    CreateExperiment,
    EventView,
    ExperimentView,
    FeedbackRequest,
    FeedbackResponse,
    HealthStatus,
    PredictRequest,
    PredictResponse,
    StageChange,
    WeightsChange,
)
from ab_platform.experiments import Event, ExperimentSpec, ExperimentState
from ab_platform.platform_service import Platform

router = APIRouter()
ExperimentId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["sentiment-minilm"])]
# Who makes a change: kept with it. (Project 11 takes this from a verified token instead.)
Actor = Annotated[str, Header(alias="X-Actor", min_length=1, max_length=100, pattern=r"^[\x20-\x7e]+$")]


def _errors(*pairs: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: problem_doc(text) for status, text in pairs}


def platform_of(request: Request) -> Platform:
    return request.app.state.platform


def event_view(event: Event) -> EventView:
    return EventView(**{**dataclasses.asdict(event), "at": event.at.isoformat()})


def view(state: ExperimentState) -> ExperimentView:
    return ExperimentView(
        id=state.spec.id,
        stage=state.stage.value,
        step=state.step,
        weights=state.weights,
        rolled_back=state.rolled_back,
        winner=state.winner,
        spec=state.spec,
        last_event=state.seq,
    )


# --8<-- [start:predict]
@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=_errors(
        (404, "No such experiment."),
        (413, "The text is longer than the service accepts."),
        (503, "Triton or (for an experiment never seen) PostgreSQL is unavailable; Retry-After is set."),
    ),
)
async def predict(body: PredictRequest, request: Request) -> PredictResponse:
    """The sentiment of a text, from the arm of the experiment the unit is assigned to."""
    limit = request.app.state.settings.max_text_chars
    if len(body.text) > limit:
        raise Problem(413, "text-too-long", f"text has {len(body.text)} characters; at most {limit} are accepted")
    served = await platform_of(request).predict(body.text, body.unit_id, body.experiment)
    return PredictResponse(
        prediction_id=served.prediction_id,
        label=served.sentiment.label,
        scores=served.sentiment.scores,
        model=served.model,
        arm=served.arm,
        experiment=served.experiment,
        stage=served.stage,
        fallback=served.fallback,
        assignment_cached=served.assignment_cached,
    )


# --8<-- [end:predict]


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    responses=_errors((404, "No served prediction with this id."), (409, "This prediction already has feedback.")),
)
async def feedback(body: FeedbackRequest, request: Request, response: Response) -> FeedbackResponse:
    """Join a delayed label (or a right/wrong verdict) to a prediction. 201 when stored in
    PostgreSQL, 202 when buffered durably while it is unreachable."""
    stored = await platform_of(request).feedback(body.prediction_id, body.label, body.correct)
    if stored == "spool":
        response.status_code = 202
    return FeedbackResponse(prediction_id=body.prediction_id, stored=stored)


@router.post(
    "/v1/experiments",
    response_model=ExperimentView,
    status_code=201,
    responses=_errors((409, "An experiment with this id exists."), (503, "PostgreSQL is unavailable.")),
)
async def create_experiment(body: CreateExperiment, request: Request, actor: Actor) -> ExperimentView:
    spec = ExperimentSpec.model_validate(body.model_dump(exclude={"reason"}))
    return view(await platform_of(request).create(spec, actor, body.reason))


@router.get("/v1/experiments", response_model=list[ExperimentView])
async def list_experiments(request: Request) -> list[ExperimentView]:
    return [view(s) for s in await platform_of(request).list_states()]


@router.get(
    "/v1/experiments/{experiment_id}", response_model=ExperimentView, responses=_errors((404, "No such experiment."))
)
async def get_experiment(experiment_id: ExperimentId, request: Request) -> ExperimentView:
    return view(await platform_of(request).state(experiment_id))


@router.get(
    "/v1/experiments/{experiment_id}/events",
    response_model=list[EventView],
    responses=_errors((404, "No such experiment."), (503, "PostgreSQL is unavailable.")),
)
async def experiment_events(experiment_id: ExperimentId, request: Request) -> list[EventView]:
    """The experiment's whole history: every change, who made it, when and why."""
    return [event_view(e) for e in await platform_of(request).history(experiment_id)]


@router.post(
    "/v1/experiments/{experiment_id}/stage",
    response_model=ExperimentView,
    responses=_errors(
        (404, "No such experiment."), (409, "The change is not allowed now."), (503, "PostgreSQL is unavailable.")
    ),
)
async def change_stage(
    experiment_id: ExperimentId, body: StageChange, request: Request, actor: Actor
) -> ExperimentView:
    """A manual override: move to a stage, promote a winner, or roll everything back."""
    state = await platform_of(request).set_stage(experiment_id, body.stage, actor, body.reason, body.winner)
    return view(state)


@router.post(
    "/v1/experiments/{experiment_id}/weights",
    response_model=ExperimentView,
    responses=_errors(
        (404, "No such experiment."),
        (409, "Weights are set only in canary or ab."),
        (422, "Weights that do not sum to 1, name unknown arms or overlap."),
    ),
)
async def change_weights(
    experiment_id: ExperimentId, body: WeightsChange, request: Request, actor: Actor
) -> ExperimentView:
    return view(await platform_of(request).set_weights(experiment_id, body.weights, actor, body.reason))


@router.post(
    "/v1/experiments/{experiment_id}/evaluate",
    response_model=list[EventView],
    responses=_errors((404, "No such experiment."), (503, "PostgreSQL is unavailable.")),
)
async def evaluate(experiment_id: ExperimentId, request: Request) -> list[EventView]:
    """Let the controller look now (it also looks on its own every few seconds); what it did."""
    return [event_view(e) for e in await platform_of(request).evaluate(experiment_id)]


@router.get(
    "/v1/experiments/{experiment_id}/report",
    responses=_errors((404, "No such experiment."), (503, "PostgreSQL is unavailable.")),
)
async def report(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """Per-arm counts and accuracy with 95 % intervals, the sequential test, guardrails, the SRM
    check, and what the controller would decide now."""
    return await platform_of(request).report(experiment_id)


@router.get(
    "/v1/experiments/{experiment_id}/replay",
    responses=_errors((404, "No such experiment."), (503, "PostgreSQL is unavailable.")),
)
async def replay(experiment_id: ExperimentId, request: Request) -> list[dict[str, Any]]:
    """Each recorded controller decision, decided again from the data stored up to its moment."""
    return await platform_of(request).replay(experiment_id)


@router.get("/v1/predictions/{prediction_id}", responses=_errors((404, "No such prediction.")))
async def get_prediction(prediction_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """One prediction as stored (shadow answers included), with its outcome if one came back."""
    row = await platform_of(request).prediction(prediction_id)
    return {k: v if isinstance(v, (int, float, bool, list, type(None))) else str(v) for k, v in row.items()}


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", response_model=HealthStatus, responses=_errors((503, "Triton is not ready.")))
async def ready(request: Request) -> HealthStatus:
    """Ready when Triton serves the default model. PostgreSQL being down degrades the service
    (cached assignments, spooled writes) without taking it out of rotation."""
    platform = platform_of(request)
    triton = await platform.models.ready(request.app.state.settings.default_model)
    database = await platform.store.ping()
    if not triton:
        raise not_ready(["triton"], request.app.state.settings.retry_after_s)
    return HealthStatus(
        status="ok" if database else "degraded", triton=triton, database=database, spool_entries=len(platform.spool)
    )
