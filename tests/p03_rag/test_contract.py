"""Black-box contract of the service: the same tests run against a deployed stack with --base-url
(the course must be indexed there: POST /v1/index/course)."""

from __future__ import annotations

import httpx

from sse_events import read_events
from study.metrics_page import metric_total

ON_TOPIC = "How does Triton's dynamic batching merge requests?"
OFF_TOPIC = "What is the best recipe for sourdough bread?"
CITATION_FIELDS = {"number", "source", "heading", "url", "chapter", "score", "snippet"}


def test_health(client: httpx.Client):
    assert client.get("/health/live").json() == {"status": "ok", "llm": None}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["llm"] == "up"


def test_search_returns_course_chunks_best_first(client: httpx.Client):
    body = client.get("/v1/search", params={"q": ON_TOPIC, "k": 5}).json()
    results = body["results"]
    assert len(results) == 5
    assert all(set(r) == CITATION_FIELDS for r in results)
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert [r["number"] for r in results] == [1, 2, 3, 4, 5]
    assert any("batch" in r["snippet"].lower() for r in results)
    assert set(body["timings_ms"]) == {"embed", "search"}


def test_chapter_filter_keeps_to_one_chapter(client: httpx.Client):
    results = client.get("/v1/search", params={"q": "latency percentiles", "chapter": "observability", "k": 10}).json()[
        "results"
    ]
    assert results and {r["chapter"] for r in results} == {"observability"}
    nothing = client.get("/v1/search", params={"q": "latency", "chapter": "no-such-chapter"}).json()
    assert nothing["results"] == []


def test_streamed_answer_citations_then_tokens_then_done(client: httpx.Client):
    with client.stream("POST", "/v1/ask", json={"question": ON_TOPIC, "mode": "generative"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_events(response))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "citations" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"} and len(kinds) > 3, "the answer arrives in several tokens"
    citations = events[0][1]["citations"]
    assert len(citations) == 5 and citations[0]["number"] == 1
    done = events[-1][1]
    assert done["mode"] == "generated"
    assert {"embed", "search", "first_token", "generate"} <= set(done["timings_ms"])


def test_json_answer(client: httpx.Client):
    body = client.post("/v1/ask", json={"question": ON_TOPIC, "stream": False, "k": 3}).json()
    assert body["mode"] == "extracted"  # the service's default: quotes, not the small model's words
    assert body["answer"].strip()
    assert len(body["citations"]) == 3
    assert body["question"] == ON_TOPIC


def test_off_topic_question_is_not_answered_from_thin_air(client: httpx.Client):
    body = client.post("/v1/ask", json={"question": OFF_TOPIC, "stream": False}).json()
    assert body["mode"] == "not_covered"
    assert body["citations"] == []
    assert "does not cover" in body["answer"]
    assert "generate" not in body["timings_ms"], "nothing was generated"
    with client.stream("POST", "/v1/ask", json={"question": OFF_TOPIC}) as response:
        events = list(read_events(response))
    assert events[0] == ("citations", {"citations": []})
    assert events[-1][1]["mode"] == "not_covered"


def test_metrics_show_the_pipeline(client: httpx.Client):
    metrics = str(client.base_url.join("/metrics"))
    counted = {
        "embed": ("rag_stage_seconds_count", {"stage": "embed"}),
        "search": ("rag_stage_seconds_count", {"stage": "search"}),
        "generate": ("rag_stage_seconds_count", {"stage": "generate"}),
        "top score": ("rag_top_score_count", {}),
        "generated": ("rag_answers_total", {"mode": "generated"}),
        "requests": ("http_request_duration_seconds_count", {"handler": "/v1/ask"}),
    }
    before = {key: metric_total(metrics, name, **labels) for key, (name, labels) in counted.items()}
    body = client.post("/v1/ask", json={"question": ON_TOPIC, "stream": False, "mode": "generative"}).json()
    assert body["mode"] == "generated"
    after = {key: metric_total(metrics, name, **labels) for key, (name, labels) in counted.items()}
    assert {key: after[key] - before[key] for key in counted} == {
        "embed": 1,
        "search": 1,
        "generate": 1,
        "top score": 1,
        "generated": 1,
        "requests": 1,
    }


def test_openapi_documents_the_api(client: httpx.Client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/documents", "/v1/index/course"} <= set(spec["paths"])
    ask = spec["paths"]["/v1/ask"]["post"]
    assert {"413", "422", "503"} <= set(ask["responses"])
