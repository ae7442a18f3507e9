"""HTTP routes: short texts translated now, documents as jobs, health."""

from __future__ import annotations

import logging
import re
import shutil
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from redis import exceptions as redis_errors

from translation.api.problem_details import Problem, not_ready, problem_doc
from translation.api.problems import UnsupportedPair
from translation.api.schemas import HealthStatus, Job, SegmentResult, TranslateRequest, TranslateResponse
from translation.documents import FORMATS, read_document, split_sentences
from translation.engines import PAIRS
from translation.jobs import Jobs, result_key
from translation.settings import Settings
from translation.storage import Storage
from translation.translator import Translator

log = logging.getLogger(__name__)
router = APIRouter()
FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


async def get_translator(request: Request) -> Translator:
    return request.app.state.translator


async def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


TranslatorDep = Annotated[Translator, Depends(get_translator)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def language_pair(source: str, target: str) -> str:
    pair = f"{source.lower()}-{target.lower()}"
    if pair not in PAIRS:
        raise UnsupportedPair(pair)
    return pair


# --8<-- [start:translate]
@router.post(
    "/v1/translate",
    response_model=TranslateResponse,
    tags=["translate"],
    responses={
        413: problem_doc("More characters or segments than one request takes: send a document."),
        422: problem_doc("Invalid request, or a language pair no engine translates (`supported` lists them)."),
        503: problem_doc("The rule-based engine is unavailable (the neural one falls back to it)."),
    },
)
async def translate(body: TranslateRequest, translator: TranslatorDep, settings: SettingsDep) -> TranslateResponse:
    """Translate now. ``cache_hits`` counts segments the translation memory answered; ``memory`` is
    "unavailable" when Redis is down (the translation still comes, uncached)."""
    pair = language_pair(body.source, body.target)
    sources = body.segments if body.segments is not None else split_sentences(" ".join((body.text or "").split()))
    characters = sum(len(s) for s in sources)
    if characters > settings.max_text_chars or len(sources) > settings.max_segments:
        raise Problem(
            413,
            "text-too-long",
            f"{characters} characters in {len(sources)} segments; one request takes up to "
            f"{settings.max_text_chars} characters and {settings.max_segments} segments "
            "(POST /v1/documents takes more)",
        )
    started = time.perf_counter()
    outcome = await translator.translate(sources, pair, body.engine)
    segments = [
        SegmentResult(source=s.source, translation=s.text, engine=s.engine, cached=s.cached, fallback=s.fallback)
        for s in outcome.segments
    ]
    return TranslateResponse(
        translation=" ".join(s.translation for s in segments) if body.text is not None else None,
        segments=segments,
        model_versions={name: engine.version for name, engine in translator.engines.items()},
        cache_hits=sum(s.cached for s in segments),
        memory=outcome.memory,
        engine_ms={name: round(1000 * s, 2) for name, s in outcome.engine_seconds.items()},
        total_ms=round(1000 * (time.perf_counter() - started), 2),
    )


# --8<-- [end:translate]

DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file itself, UTF-8 text: .txt, .md, .html or .po (name it in ?filename=).",
        "content": {media: {"schema": {"type": "string"}} for media in FORMATS.values()},
    }
}


# --8<-- [start:documents]
@router.post(
    "/v1/documents",
    response_model=Job,
    status_code=202,
    tags=["documents"],
    openapi_extra=DOCUMENT_BODY,
    responses={
        413: problem_doc("The file is larger than the service takes."),
        415: problem_doc("Not a .txt, .md, .html or .po file."),
        422: problem_doc("Not UTF-8, nothing to translate, a bad file name, or an unsupported language pair."),
        503: problem_doc("S3 is unavailable: nothing was stored; see Retry-After."),
    },
)
async def create_document_job(
    request: Request,
    response: Response,
    jobs: JobsDep,
    settings: SettingsDep,
    filename: Annotated[str, Query(max_length=128, description="e.g. guide.md; the suffix says the format")],
    source: Annotated[str, Query(max_length=16)] = "en",
    target: Annotated[str, Query(max_length=16)] = "es",
    engine: Annotated[str | None, Query(pattern="^(apertium|neural)$")] = None,
) -> Job:
    """Store the original in S3 and queue a job; poll ``GET /v1/jobs/{id}`` for progress and, when
    done, a download URL. With Redis down the job is still accepted: a worker's sweep queues it."""
    pair = language_pair(source, target)
    if not FILENAME.fullmatch(filename) or ".." in filename:
        raise Problem(422, "invalid-document-name", "a plain file name: letters, digits, '.', '_' and '-'")
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise Problem(415, "unsupported-media-type", f"{filename!r}: send one of {', '.join(FORMATS)}")
    body = await request.body()
    if len(body) > settings.max_document_bytes:
        raise Problem(413, "payload-too-large", f"the document is over {settings.max_document_bytes} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(
            422, "unreadable-document", f"the document is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    if "\x00" in text:
        raise Problem(422, "unreadable-document", "the document holds NUL bytes: it is binary, not text")
    document = read_document(filename, text)
    if not document.segments:
        raise Problem(422, "empty-document", "the document holds no text to translate")
    record = await jobs.create(filename, body, FORMATS[suffix], pair, engine)
    try:
        await jobs.enqueue(record["id"])
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        log.warning("Redis unavailable: job %s waits in S3 for a worker's sweep (%s)", record["id"], exc)
    response.headers["Location"] = f"/v1/jobs/{record['id']}"
    return Job(**{**record, "segments_total": len(document.segments)})


# --8<-- [end:documents]


@router.get(
    "/v1/jobs/{job_id}",
    response_model=Job,
    tags=["documents"],
    responses={404: problem_doc("No job with this id."), 503: problem_doc("S3 is unavailable; see Retry-After.")},
)
async def get_job(jobs: JobsDep, request: Request, job_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$")]) -> Job:
    record = await jobs.get(job_id)
    if record is None:
        raise Problem(404, "not-found", f"no job {job_id}")
    job = Job(**record)
    if job.status == "done" and job.result:
        storage: Storage = request.app.state.storage
        job.download_url = storage.download_url(result_key(job_id, job.result), job.result)
    return job


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    return HealthStatus(status="live")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: problem_doc()})
async def ready(settings: SettingsDep) -> HealthStatus:
    """Ready when the rule-based engine can run: it is what every request falls back to. Redis
    (memory), S3 (documents) and the neural server may be down; requests say what they lacked."""
    if shutil.which(settings.apertium_command) is None:
        raise not_ready(["apertium"], settings.retry_after_s)
    return HealthStatus(status="ready")
