"""The check every bad-input test makes: an RFC 9457 problem document with the expected status and
type, a human-readable detail, and never a traceback."""

from __future__ import annotations

import httpx


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"] and "Traceback" not in response.text
    if slug:
        assert body["type"] == f"/problems/{slug}"
    return body


def assert_backend_unavailable(response: httpx.Response, backend: str, retry_after_s: int | None = None) -> dict:
    """503 /problems/backend-unavailable naming the backend that is down, with Retry-After."""
    body = assert_problem(response, 503, "backend-unavailable")
    assert body["backend"] == backend
    assert int(response.headers["Retry-After"]) > 0
    if retry_after_s is not None:
        assert int(response.headers["Retry-After"]) == retry_after_s
    return body
