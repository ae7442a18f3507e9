"""Which files make the course's knowledge base, and where each is published."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Pages the site does not publish (mkdocs.yml exclude_docs) are not knowledge either.
EXCLUDED_PARTS = {"results", "assets"}


@dataclass(frozen=True)
class CourseFile:
    path: Path
    source: str  # relative to the course root: what citations name
    chapter: str
    url: str | None  # the rendered page, None for files the site does not publish


def page_url(source: str, site_url: str) -> str:
    """docs/a/b.md -> <site>/a/b/ and docs/a/index.md -> <site>/a/ (MkDocs' directory URLs)."""
    page = source.removeprefix("docs/").removesuffix(".md")
    page = "" if page == "index" else page.removesuffix("/index") + "/"
    return site_url.rstrip("/") + "/" + page


def chapter_of(source: str) -> str:
    parts = source.split("/")
    if parts[0] == "docs":
        return parts[1] if len(parts) > 2 else parts[1].removesuffix(".md")
    return "projects"


def course_files(root: Path, site_url: str) -> list[CourseFile]:
    files = []
    for path in sorted((root / "docs").rglob("*.md")):
        relative = path.relative_to(root)
        if EXCLUDED_PARTS.isdisjoint(relative.parts):
            source = relative.as_posix()
            files.append(CourseFile(path, source, chapter_of(source), page_url(source, site_url)))
    for path in sorted(root.glob("projects/*/README.md")):
        source = path.relative_to(root).as_posix()
        files.append(CourseFile(path, source, "projects", None))
    return files
