"""What keeps an answer to what the course says.

- **Extractive answers**: the sentences of the retrieved chunks closest to the question, quoted with
  their citation numbers. Nothing is written that the course did not write; the default with a small
  local model, whose generated answers the benchmark measured to be mostly unsupported.
- **No invented links**: a generated answer may only carry links that are its citations' pages.
- **Faithfulness**: the share of an answer's sentences that a cited passage supports, judged by
  embedding similarity and word coverage together (validated against hand-labelled sentences in
  the benchmark, where it cannot tell a claim from its contradiction: an upper bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# --8<-- [start:sentences]
CODE_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
# Headings, tables (also a row cut in two by a chunk's edge), includes, admonitions, HTML, images, rules.
NOT_PROSE = re.compile(r"^\s*(#|\||--8<--|!!!|\?\?\?|<|!\[|[-*_]{3,}\s*$)|.*\|.*\|")
MARKUP = re.compile(r"\*\*|__|`|\[(?=[^\]]*\]\()|\]\([^)]*\)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
MIN_WORDS = 5


def prose_sentences(markdown: str) -> list[str]:
    """The sentences of a chunk's prose: code, tables, headings, includes and admonition markers
    dropped, links reduced to their text, list items joined to the paragraph they are in."""
    text = CODE_BLOCK.sub("\n\n", markdown)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or NOT_PROSE.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = []
            continue
        current.append(re.sub(r"^\s*([-*+]|\d+\.)\s+", "", line).strip())
    if current:
        paragraphs.append(" ".join(current))
    sentences = [s.strip() for p in paragraphs for s in SENTENCE_END.split(MARKUP.sub("", p))]
    return [s for s in sentences if len(s.split()) >= MIN_WORDS]


# --8<-- [end:sentences]


@dataclass(frozen=True)
class Quote:
    text: str
    citation: int  # the [n] of the chunk it comes from
    score: float  # cosine similarity to the question


# --8<-- [start:extract]
def best_quotes(
    question: np.ndarray, sentences: list[tuple[int, str]], vectors: np.ndarray, count: int, floor: float
) -> list[Quote]:
    """The ``count`` sentences most similar to the question (unit vectors: cosine = dot product),
    each at least ``floor``, no sentence twice; in order of similarity."""
    scores = vectors @ question
    quotes: list[Quote] = []
    for i in np.argsort(-scores):
        citation, text = sentences[i]
        if scores[i] < floor or len(quotes) == count:
            break
        if all(text != q.text for q in quotes):
            quotes.append(Quote(text, citation, round(float(scores[i]), 4)))
    return quotes


def extractive_answer(quotes: list[Quote]) -> str:
    return "\n".join(f"“{q.text}” [{q.citation}]" for q in quotes)


# --8<-- [end:extract]


# --8<-- [start:links]
URL = re.compile(r"https?://[^\s)\]>\"']+")


class LinkGuard:
    """Filters a stream of generated text so that only allowed links pass. Text is released up to
    its last whitespace, so a link is always judged whole; call ``flush`` at the end."""

    def __init__(self, allowed: set[str]):
        self.allowed = {url.rstrip("/") for url in allowed}
        self.buffer = ""
        self.removed = 0

    def feed(self, text: str) -> str:
        self.buffer += text
        cut = max(self.buffer.rfind(" "), self.buffer.rfind("\n"))
        if cut < 0:
            return ""
        ready, self.buffer = self.buffer[: cut + 1], self.buffer[cut + 1 :]
        return self._clean(ready)

    def flush(self) -> str:
        ready, self.buffer = self.buffer, ""
        return self._clean(ready)

    def _clean(self, text: str) -> str:
        def judge(match: re.Match) -> str:
            url = match.group(0).rstrip(".,;:")
            if url.split("#")[0].rstrip("/") in self.allowed or url.rstrip("/") in self.allowed:
                return match.group(0)
            self.removed += 1
            return "(link removed: not one of the citations)" + match.group(0)[len(url) :]

        return URL.sub(judge, text)


# --8<-- [end:links]


# --8<-- [start:faithfulness]
def best_similarity(answer_vectors: np.ndarray, passage_vectors: np.ndarray) -> np.ndarray:
    """For each answer sentence, how close the closest sentence of the cited passages comes (cosine
    of unit vectors); a sentence is supported when that reaches the judge's threshold."""
    if len(passage_vectors) == 0:
        return np.zeros(len(answer_vectors), dtype=np.float32)
    return (answer_vectors @ passage_vectors.T).max(axis=1)


STOPWORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "is",
        "are",
        "be",
        "by",
        "as",
        "at",
        "it",
        "its",
        "this",
        "that",
        "from",
        "when",
        "what",
        "which",
        "than",
        "then",
        "not",
        "no",
        "but",
        "if",
        "so",
        "into",
        "per",
        "each",
        "one",
    }
)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3 and w not in STOPWORDS}


def word_coverage(sentence: str, passages: list[str]) -> float:
    """The share of the sentence's content words that the passages use: a paraphrase keeps most of
    its source's terms, an answer that drifts off its sources brings its own."""
    words = content_words(sentence)
    found = set().union(*(content_words(p) for p in passages)) if passages else set()
    return len(words & found) / len(words) if words else 0.0


def answer_sentences(answer: str) -> list[str]:
    """An answer's sentences, citation markers and quotation marks removed."""
    plain = re.sub(r"\[\d+(?:,\s*\d+)*\]", "", answer).replace("“", "").replace("”", "")
    plain = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(plain.split()))
    return [s.strip() for s in SENTENCE_END.split(plain) if len(s.split()) >= 3]


# --8<-- [end:faithfulness]
