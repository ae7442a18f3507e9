"""Documents as segments: a format's reader splits a file into what is translated (sentences, or a
.po file's messages) and what is kept as it is (markup, code blocks, blank lines); ``render`` puts
the translations back in their places. Formats: .txt, .md, .html, .po."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polib

FORMATS = {".txt": "text/plain", ".md": "text/markdown", ".html": "text/html", ".po": "text/x-gettext-translation"}


class UnsupportedDocument(ValueError):
    """Not one of FORMATS, or not readable as one."""


# --8<-- [start:sentences]
# A sentence ends at . ! or ? (and any closing quote or bracket) followed by space and a capital,
# a digit or an opening quote; "e.g. this" and "3.5 GB" stay whole.
SENTENCE_END = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=[A-Z0-9"'(¿¡⟦])""")
ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|No|approx)\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    parts: list[str] = []
    for piece in SENTENCE_END.split(text):
        if parts and ABBREVIATIONS.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return [p for p in parts if p.strip()]


# --8<-- [end:sentences]


@dataclass
class Document:
    """``pieces`` in order: a string is kept as it is, an int is the index of a segment."""

    format: str
    segments: list[str] = field(default_factory=list)
    pieces: list[str | int] = field(default_factory=list)
    po: polib.POFile | None = None  # .po files are written back through polib
    po_targets: list[tuple[polib.POEntry, int, int | None]] = field(default_factory=list)  # entry, segment, plural

    def keep(self, text: str) -> None:
        if text:
            self.pieces.append(text)

    def translate_run(self, text: str) -> None:
        """A run of prose: its sentences become segments, the spaces between them stay."""
        leading = text[: len(text) - len(text.lstrip())]
        trailing = text[len(text.rstrip()) :]
        self.keep(leading)
        body = re.sub(r"\s+", " ", text.strip())
        for i, sentence in enumerate(split_sentences(body)):
            if i:
                self.keep(" ")
            self.pieces.append(len(self.segments))
            self.segments.append(sentence)
        self.keep(trailing)

    def render(self, translations: list[str], language: str) -> str:
        if self.po is not None:
            for entry, singular, plural in self.po_targets:
                if plural is None:
                    entry.msgstr = translations[singular]
                else:
                    entry.msgstr_plural = {0: translations[singular], 1: translations[plural]}
            self.po.metadata["Language"] = language
            return str(self.po)
        return "".join(p if isinstance(p, str) else translations[p] for p in self.pieces)


def read_document(name: str, text: str) -> Document:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    readers = {".txt": read_text, ".md": read_markdown, ".html": read_html, ".po": read_po}
    if suffix not in readers:
        raise UnsupportedDocument(f"{name!r}: documents must be one of {', '.join(FORMATS)}")
    return readers[suffix](text)


def read_text(text: str) -> Document:
    doc = Document("txt")
    for block in re.split(r"(\n\s*\n)", text):
        if block.strip() and not re.fullmatch(r"\n\s*\n", block):
            doc.translate_run(block)
        else:
            doc.keep(block)
    return doc


MD_PREFIX = re.compile(r"^(\s*(?:#{1,6}\s+|[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+|>\s*)*)")


def read_markdown(text: str) -> Document:
    """Paragraphs, headings, list items and quotes are translated; fenced code, tables, HTML blocks
    and front matter are kept; a heading's or item's marker is kept before its translation."""
    doc = Document("md")
    lines = text.splitlines(keepends=True)
    paragraph: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if paragraph:
            doc.translate_run("".join(paragraph).rstrip("\n"))
            doc.keep("\n")
            paragraph.clear()

    for line in lines:
        stripped = line.strip()
        if fence is not None:
            doc.keep(line)
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith(("```", "~~~")):
            flush()
            fence = stripped[:3]
            doc.keep(line)
        elif not stripped or stripped.startswith(("|", "<", "---", "    ")) or line.startswith("    "):
            flush()
            doc.keep(line)
        elif MD_PREFIX.match(line).group(1):  # type: ignore[union-attr]
            flush()
            prefix = MD_PREFIX.match(line).group(1)  # type: ignore[union-attr]
            doc.keep(prefix)
            doc.translate_run(line[len(prefix) :].rstrip("\n"))
            doc.keep(line[len(line.rstrip("\n")) :])
        else:
            paragraph.append(line)
    flush()
    return doc


BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "br", "button", "caption", "dd", "div", "dl",
    "dt", "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
    "html", "label", "li", "main", "meta", "nav", "ol", "option", "p", "section", "table", "tbody",
    "td", "tfoot", "th", "thead", "title", "tr", "ul",
}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "code", "pre", "textarea"}
HTML_TOKEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<![^>]*>|<\?.*?\?>|</?([A-Za-z][A-Za-z0-9-]*)[^>]*>", re.S)


def read_html(text: str) -> Document:
    """Block elements bound the runs that are translated; inline tags (<b>, <a href=...>) stay inside
    a run, protected like placeholders; script, style, code and pre are kept untouched."""
    doc = Document("html")
    run: list[str] = []
    skipping: str | None = None
    position = 0

    def flush() -> None:
        joined = "".join(run)
        if re.sub(r"<[^>]+>|&[#\w]+;|\s", "", joined):
            doc.translate_run(joined)
        else:
            doc.keep(joined)
        run.clear()

    for match in HTML_TOKEN.finditer(text):
        between, tag = text[position : match.start()], match.group(0)
        position = match.end()
        name = (match.group(1) or "").lower()
        if skipping is not None:
            doc.keep(between + tag)
            if tag.lower().startswith(f"</{skipping}"):
                skipping = None
            continue
        run.append(between)
        if name in BLOCK_TAGS or name in SKIPPED_TAGS or not name:
            flush()
            doc.keep(tag)
            if name in SKIPPED_TAGS and not tag.startswith("</") and not tag.endswith("/>"):
                skipping = name
        else:
            run.append(tag)
    if skipping is not None:
        doc.keep(text[position:])
    else:
        run.append(text[position:])
        flush()
    return doc


def read_po(text: str) -> Document:
    """A gettext catalogue: each message (and its plural) is one segment; the header, obsolete and
    already-translated messages are left alone."""
    try:
        po = polib.pofile(text)
    except (OSError, ValueError) as exc:
        raise UnsupportedDocument(f"not a readable .po file: {exc}") from exc
    doc = Document("po", po=po)
    for entry in po:
        if entry.obsolete or not entry.msgid or entry.translated():
            continue
        singular = len(doc.segments)
        doc.segments.append(entry.msgid)
        plural = None
        if entry.msgid_plural:
            plural = len(doc.segments)
            doc.segments.append(entry.msgid_plural)
        doc.po_targets.append((entry, singular, plural))
    return doc
