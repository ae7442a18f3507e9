"""What keeps "ask the course" to what the course says: quoting sentences, refusing invented links,
and the faithfulness check the benchmark uses. Units first, then against the running service."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from study.local.rag.stack import Stack

from rag.services.faithful import (
    URL,
    LinkGuard,
    answer_sentences,
    best_quotes,
    best_similarity,
    prose_sentences,
    word_coverage,
)
from study.paths import REPO_ROOT

CHUNK = """# Triton in practice > Dynamic batching

Triton's **dynamic batcher** merges requests that arrive close together into one execution.
A request waits at most `max_queue_delay_microseconds` for company, then runs [alone](../x.md).

```protobuf
dynamic_batching { max_queue_delay_microseconds: 2000 }
```

| setting | value |
|---|---|
| delay | 2 ms |
LLM_CHAT_TOKENIZER_FILE | (required) | the model's tokenizer.json |

- Preferred sizes tell the batcher which batch sizes to aim for. Short.
--8<-- "projects/01-image-classification/model_repository/efficientnet_lite0/config.pbtxt"
"""


def test_prose_sentences_drop_code_tables_headings_and_includes_and_keep_link_text():
    assert prose_sentences(CHUNK) == [
        "Triton's dynamic batcher merges requests that arrive close together into one execution.",
        "A request waits at most max_queue_delay_microseconds for company, then runs alone.",
        "Preferred sizes tell the batcher which batch sizes to aim for.",
    ]


def test_best_quotes_are_the_most_similar_sentences_above_the_floor_in_order():
    sentences = [(1, "a"), (1, "b"), (2, "c"), (2, "a")]
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    quotes = best_quotes(np.array([1.0, 0.0], dtype=np.float32), sentences, vectors, count=3, floor=0.5)
    assert [(q.text, q.citation) for q in quotes] == [("a", 1), ("b", 1)]  # "a" once; "c" is below the floor


def test_the_link_guard_passes_citation_links_and_removes_others_even_split_across_tokens():
    guard = LinkGuard({"http://127.0.0.1:8100/inference-servers/triton-in-practice/"})
    pieces = [
        "See http",
        "s://openai.git",
        "hub.io/batching/ and ",
        "http://127.0.0.1:8100/inference-",
        "servers/triton-in-practice/#dynamic-batching. Done",
    ]
    text = "".join(guard.feed(p) for p in pieces) + guard.flush()
    assert "openai" not in text and "(link removed: not one of the citations)" in text
    assert "http://127.0.0.1:8100/inference-servers/triton-in-practice/#dynamic-batching." in text
    assert guard.removed == 1 and text.endswith("Done")


def test_answer_sentences_drop_citation_marks_and_quotes():
    assert answer_sentences("“Triton merges requests.” [1] It waits 2 ms [1, 2]. Ok.") == [
        "Triton merges requests.",
        "It waits 2 ms.",
    ]


def test_each_answer_sentence_is_scored_by_the_closest_passage_sentence():
    answer = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    passages = np.array([[0.96, 0.28], [0.6, 0.8]], dtype=np.float32)
    assert best_similarity(answer, passages).tolist() == pytest.approx([0.96, 0.8])
    assert best_similarity(answer, np.empty((0, 2), dtype=np.float32)).tolist() == [0.0, 0.0]


def test_word_coverage_is_the_share_of_content_words_the_passages_use():
    passages = ["Triton merges requests into one execution.", "A request waits for company."]
    assert word_coverage("Triton merges the requests.", passages) == 1.0
    assert word_coverage("Kubernetes merges pods.", passages) == 1 / 3  # kubernetes, merges, pods
    assert word_coverage("It is so.", passages) == 0.0  # no content word at all


# With the running service.

QUESTION = "How does Triton dynamic batching decide when to run a batch?"


def ask(stack: Stack, **extra) -> dict:
    answer = httpx.post(f"{stack.url}/v1/ask", json={"question": QUESTION, "stream": False, **extra}, timeout=300)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_by_default_the_answer_quotes_sentences_of_its_citations_with_their_numbers(stack: Stack):
    body = ask(stack)
    assert body["mode"] == "extracted" and "extract" in body["timings_ms"]
    lines = body["answer"].splitlines()
    assert lines and "dynamic" in body["answer"].lower()  # the question's subject, quoted
    for line in lines:
        quote, number = line.rsplit(" [", 1)
        cited = body["citations"][int(number.rstrip("]")) - 1]
        course_prose = " ".join(prose_sentences((REPO_ROOT / cited["source"]).read_text()))
        assert quote.strip("“”") in course_prose  # word for word from the page it cites


def test_a_generated_answer_carries_no_link_but_its_citations(stack: Stack):
    body = ask(stack, mode="generative")
    assert body["mode"] == "generated" and body["answer"]
    allowed = {c["url"].rstrip("/") for c in body["citations"] if c["url"]}
    for url in URL.findall(body["answer"]):
        assert url.split("#")[0].rstrip("/.,;:") in allowed
