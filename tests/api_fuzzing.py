"""API fuzzing, the same for every project. Schemathesis reads the running service's OpenAPI
document and sends requests generated from it, valid ones and broken ones; every answer must

- never be a 5xx (a request the service did not expect is the client's error, not a crash),
- have a status code and a content type the document lists for that operation,
- match the documented schema of its body,
- be problem+json when it is a 4xx (docs/reference/problem-types.md).

Each project's ``test_fuzz.py`` calls ``fuzz(base_url, ...)``, naming the operations whose valid
requests cost too much to send by the dozen (a whole LLM answer each): those get broken requests
only, which must be refused before any work is done. The project's own tests send the valid ones."""

from __future__ import annotations

import hypothesis
import hypothesis.errors
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 15


# --8<-- [start:problem-check]
def problem_json_for_client_errors(ctx, response, case) -> bool | None:
    """Every 4xx is an RFC 9457 problem document: a type, the answer's status, a detail."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), f"a {response.status_code} as {content_type!r}"
    body = response.json()
    assert body["type"].startswith("/problems/") and body["status"] == response.status_code and body["detail"]
    return True


# --8<-- [end:problem-check]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_json_for_client_errors,
]


def fuzz(
    base_url: str,
    broken_only: frozenset[str] = frozenset(),
    skip: frozenset[str] = frozenset(),
    headers: dict[str, str] | None = None,
    extra_checks: tuple = (),
) -> int:
    """Fuzz every operation ("METHOD /path") of the service but ``skip``; ``broken_only`` ones get
    broken requests only; ``headers`` go with every request (a token), ``extra_checks`` run on
    every answer besides the shared ones. Fails with every operation's first failure; returns how
    many requests were checked."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: dict[str, str] = {}
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name in skip or operation.path.startswith("/health/"):
            continue
        modes = [GenerationMode.NEGATIVE] if name in broken_only else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for mode in modes:

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                derandomize=True,  # the same requests every run: a failure found once is found again
                database=None,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # report the first failure as is
            )
            def check(case) -> None:
                nonlocal sent
                sent += 1
                case.call_and_validate(base_url=base_url, headers=headers, checks=[*CHECKS, *extra_checks], timeout=60)

            try:
                check()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing in the operation can be broken (no parameters, or free strings only)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures reported
                failures[f"{name} ({mode.value})"] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
    assert sent > 0
    return sent
