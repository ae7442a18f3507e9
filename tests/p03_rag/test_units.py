"""The pure logic: chunking, anchors, URLs, retrieval metrics, padding buckets."""

from __future__ import annotations

import json

import pytest
from markdown.extensions.toc import slugify, unique

from rag.evaluation import Question, Retrieved, first_rank, page_match, retrieval_scores, section_match
from rag.services.chunking import chunk_markdown, docs_anchor, pack, sections
from rag.services.course_files import chapter_of, page_url


class WordCounter:
    """One token per word: enough to test the packing arithmetic."""

    def count(self, text: str) -> int:
        return len(text.split())

    def split(self, text: str, max_tokens: int) -> list[str]:
        words = text.split()
        return [" ".join(words[i : i + max_tokens]) for i in range(0, len(words), max_tokens)]


PAGE = """# Title

Intro paragraph.

## First section

Body of the first.

```python
# not a heading: a comment in a code block
x = 1
```

### Sub `code` part

Sub body.

## First section

A second heading with the same text.

    --8<-- "projects/01-image-classification/src/x.py:part"
"""


def test_sections_follow_headings_not_code_comments():
    found = sections(PAGE)
    assert [s.titles for s in found] == [
        ("Title",),
        ("Title", "First section"),
        ("Title", "First section", "Sub code part"),
        ("Title", "First section"),
    ]
    assert "# not a heading" in found[1].body
    assert "(code from projects/01-image-classification/src/x.py:part)" in found[3].body


@pytest.mark.parametrize(
    "titles",
    [
        ["Load: once, verified", "Warm-up: pay the first-request costs", "Deploy it", "Deploy it", "Deploy it"],
        [
            "01 · Image classification behind Triton",
            "Rate, errors & duration",
            "Café crème — naïve",
            "p50, p95, p99",
            "Problem details (problem+json)",
        ],
    ],
)
def test_anchors_are_the_ones_mkdocs_gives(titles):
    ours, theirs = set(), set()
    assert [docs_anchor(t, ours) for t in titles] == [unique(slugify(t, "-"), theirs) for t in titles]


def test_anchors_of_a_page_with_repeated_headings():
    assert [s.anchor for s in sections(PAGE)] == ["title", "first-section", "sub-code-part", "first-section_1"]


def test_pack_respects_the_budget_and_overlaps():
    paragraphs = [f"p{i} " + "w " * 9 for i in range(6)]  # 10 words each
    chunks = pack(paragraphs, WordCounter(), max_tokens=30, overlap_tokens=10)
    assert all(len(c.split()) <= 30 for c in chunks)
    assert chunks[0].startswith("p0") and "p2" in chunks[0]
    assert chunks[1].startswith("p2"), "the last paragraph of a chunk opens the next one"
    covered = " ".join(chunks)
    assert all(f"p{i} " in covered for i in range(6))


def test_pack_splits_a_paragraph_longer_than_the_budget():
    chunks = pack(["word " * 75], WordCounter(), max_tokens=30, overlap_tokens=0)
    assert [len(c.split()) for c in chunks] == [30, 30, 15]


def test_pack_without_overlap_never_repeats():
    paragraphs = [f"p{i} " + "w " * 9 for i in range(6)]
    chunks = pack(paragraphs, WordCounter(), max_tokens=25, overlap_tokens=0)
    assert sum(c.count("p") for c in chunks) == 6


def test_chunks_carry_source_heading_and_url():
    chunks = chunk_markdown(PAGE, "docs/x/page.md", "x", "http://site/x/page/", WordCounter(), 100, 0)
    assert chunks[1].heading == "Title > First section"
    assert chunks[1].url == "http://site/x/page/#first-section"
    assert chunks[-1].url == "http://site/x/page/#first-section_1"
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[2].embedding_text.startswith("Title > First section > Sub code part\n\n")
    assert chunk_markdown("", "docs/empty.md", "x", None, WordCounter(), 100, 0) == []


@pytest.mark.parametrize(
    "source,url,chapter",
    [
        ("docs/index.md", "http://s/", "index"),
        ("docs/glossary.md", "http://s/glossary/", "glossary"),
        ("docs/fundamentals/index.md", "http://s/fundamentals/", "fundamentals"),
        ("docs/fundamentals/inference-lifecycle.md", "http://s/fundamentals/inference-lifecycle/", "fundamentals"),
        ("docs/projects/03-rag/index.md", "http://s/projects/03-rag/", "projects"),
    ],
)
def test_page_urls_follow_mkdocs_directory_urls(source, url, chapter):
    assert page_url(source, "http://s/") == url
    assert chapter_of(source) == chapter


def test_retrieval_metrics():
    question = Question("q", "docs/a.md", "Part")
    hits = [Retrieved("docs/b.md", "B"), Retrieved("docs/a.md", "A > Other"), Retrieved("docs/a.md", "A > Part")]
    assert first_rank(question, hits, page_match) == 2
    assert first_rank(question, hits, section_match) == 3
    assert first_rank(question, hits[:1], page_match) is None
    # Another page that answers as fully counts for the page, never for the section.
    answered_twice = Question("q", "docs/a.md", "Part", also=("docs/b.md",))
    assert first_rank(answered_twice, hits, page_match) == 1
    assert first_rank(answered_twice, [Retrieved("docs/b.md", "B > Part")], section_match) is None
    scores = retrieval_scores([1, 2, None, 6])
    assert scores == {"recall@1": 0.25, "recall@5": 0.5, "mrr": pytest.approx((1 + 0.5 + 1 / 6) / 4)}


def test_requests_are_padded_to_a_few_lengths(stack):
    from study.local.rag.stack import ensure_model

    from rag.embedding_client import EmbeddingTokenizer

    client = EmbeddingTokenizer(str(ensure_model().with_name("tokenizer.json")))
    ids, mask = client.tensors(["short", "a somewhat longer sentence about dynamic batching on triton"])
    assert ids.shape == (2, 16) and mask[0].sum() == 3 and mask[1].sum() < 16
    ids, _ = client.tensors(["word " * 40])
    assert ids.shape == (1, 64)
    ids, _ = client.tensors(["word " * 1000])
    assert ids.shape == (1, 256), "truncated to the model's 256 tokens"
    assert client.count("word " * 1000) == 1000
    assert [client.count(piece) for piece in client.split("word " * 450, 200)] == [200, 200, 50]


def test_tracing_exporters_follow_the_settings(tmp_path, monkeypatch):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.trace import NoOpTracer

    from rag.settings import Settings
    from rag.tracing import Tracing

    assert isinstance(Tracing(Settings(tokenizer_file="t.json")).tracer, NoOpTracer)  # off by default

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317")
    otlp = Tracing(Settings(tokenizer_file="t.json", traces_exporter="otlp"))
    assert isinstance(otlp.exporter, OTLPSpanExporter) and otlp.exporter._endpoint == "jaeger:4317"
    otlp.shutdown()

    traces = tmp_path / "traces.jsonl"
    to_file = Tracing(Settings(tokenizer_file="t.json", traces_exporter="file", traces_file=str(traces)))
    with to_file.tracer.start_as_current_span("stage") as span:
        span.set_attribute("rag.k", 5)
    to_file.shutdown()
    assert [json.loads(line)["attributes"] for line in traces.read_text().splitlines()] == [{"rag.k": 5}]
