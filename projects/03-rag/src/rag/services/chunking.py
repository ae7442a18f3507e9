"""Markdown -> chunks: split at headings, then pack paragraphs up to a token budget with overlap.

Each chunk keeps where it came from (file, heading path, the anchor the docs site gives that
heading) so an answer can cite the exact section. Pure functions: unit-tested without a server.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark").enable("table")
# A pymdownx snippet line pulls code in from a project file when the site is built; in the
# knowledge base it becomes a pointer to that file (the marker is spelled out as a pattern so
# that this file can itself be shown on the site).
_SNIPPET_LINE = re.compile(r'^(\s*)-{2}8<-{2}\s+"([^"]+)"\s*$', re.MULTILINE)


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...
    def split(self, text: str, max_tokens: int) -> list[str]: ...


@dataclass(frozen=True)
class Section:
    titles: tuple[str, ...]  # heading path: page title first
    anchor: str  # the id the docs site gives the last heading ("" before any heading)
    body: str


@dataclass(frozen=True)
class Chunk:
    source: str  # path relative to the course root, or uploads/<name>
    chapter: str
    heading: str  # "Page title > Section > Subsection"
    anchor: str
    url: str | None
    index: int  # position in its document
    text: str

    @property
    def embedding_text(self) -> str:
        """What is embedded: the heading path gives a short paragraph its context."""
        return f"{self.heading}\n\n{self.text}"


# --8<-- [start:slugify]
def docs_anchor(title: str, used: set[str]) -> str:
    """The id MkDocs' table-of-contents extension gives a heading (its default slugify, with
    _1, _2 ... for repeats on one page), so a citation can link straight to the section."""
    value = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    anchor = base = re.sub(r"[-\s]+", "-", value)
    n = 0
    while anchor in used:
        n += 1
        anchor = f"{base}_{n}"
    used.add(anchor)
    return anchor


# --8<-- [end:slugify]


def _plain(inline) -> str:
    return "".join(
        child.content for child in (inline.children or []) if child.type in ("text", "code_inline", "softbreak")
    ).strip()


def sections(markdown: str) -> list[Section]:
    """Split at every heading (markdown-it knows a '#' inside a code block is not one)."""
    markdown = _SNIPPET_LINE.sub(lambda m: f"{m.group(1)}(code from {m.group(2)})", markdown)
    lines = markdown.splitlines()
    tokens = _MARKDOWN.parse(markdown)
    headings = [
        (int(tok.tag[1]), tok.map[0], tok.map[1], _plain(tokens[i + 1]))
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.map
    ]
    used: set[str] = set()
    stack: list[tuple[int, str]] = []
    result: list[Section] = []
    start, anchor = 0, ""
    titles: tuple[str, ...] = ()
    for level, first, after, title in headings:
        body = "\n".join(lines[start:first]).strip()
        if body:
            result.append(Section(titles, anchor, body))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        titles, anchor, start = tuple(t for _, t in stack), docs_anchor(title, used), after
    body = "\n".join(lines[start:]).strip()
    if body:
        result.append(Section(titles, anchor, body))
    return result


# --8<-- [start:pack]
def pack(paragraphs: list[str], counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> list[str]:
    """Greedy packing: add paragraphs while they fit; a new chunk starts with the last paragraphs
    of the previous one (up to ``overlap_tokens``) so a sentence near a border is found in both."""
    pieces: list[tuple[str, int]] = []
    for paragraph in paragraphs:
        for piece in counter.split(paragraph, max_tokens) if counter.count(paragraph) > max_tokens else [paragraph]:
            pieces.append((piece, counter.count(piece)))
    chunks: list[str] = []
    current: list[tuple[str, int]] = []
    for piece, size in pieces:
        if current and sum(n for _, n in current) + size > max_tokens:
            chunks.append("\n\n".join(p for p, _ in current))
            tail: list[tuple[str, int]] = []
            for previous in reversed(current):
                if sum(n for _, n in tail) + previous[1] > overlap_tokens:
                    break
                tail.insert(0, previous)
            current = tail if sum(n for _, n in tail) + size <= max_tokens else []
        current.append((piece, size))
    if current:
        chunks.append("\n\n".join(p for p, _ in current))
    return chunks


# --8<-- [end:pack]


def chunk_markdown(
    markdown: str,
    source: str,
    chapter: str,
    url_base: str | None,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """All chunks of one document, in order. ``url_base`` is the page's address (None: no page)."""
    chunks: list[Chunk] = []
    for section in sections(markdown):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", section.body) if p.strip()]
        heading = " > ".join(section.titles) or source
        url = None if url_base is None else url_base + (f"#{section.anchor}" if section.anchor else "")
        for text in pack(paragraphs, counter, max_tokens, overlap_tokens):
            chunks.append(Chunk(source, chapter, heading, section.anchor, url, len(chunks), text))
    return chunks
