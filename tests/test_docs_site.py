"""The course site builds with --strict (every included file exists) and renders in a real browser."""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from study.paths import DOCS_DIR as DOCS
from study.paths import REPO_ROOT
from system_tools import system_tool

ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"  # screenshots a reviewer can open after a run
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    # The diagrams' script ships with the site, fetched once by `make docs-assets` (part of make test).
    assert (DOCS / "assets/javascripts/mermaid.min.js").exists(), "run `make docs-assets` first: no mermaid.js"
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_strict_build_produces_every_chapter(site: Path):
    for page in [
        "index.html",
        "fundamentals/index.html",
        "fundamentals/inference-lifecycle/index.html",
        "fundamentals/latency-and-throughput/index.html",
        "glossary/index.html",
        "model-usage-patterns/index.html",
        "inference-servers/index.html",
        "architecture-patterns/index.html",
        "deployment/index.html",
        "observability/index.html",
        "projects/index.html",
        "projects/01-image-classification/index.html",
        "projects/02-streaming-llm-chat/index.html",
    ]:
        assert (site / page).is_file(), page


def test_project_page_includes_the_tested_code_and_the_benchmark(site: Path):
    html = (site / "projects/01-image-classification/index.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)  # code is highlighted into many spans
    assert "def create_app" in text  # included from main.py, not pasted
    assert "def cpu_twin_config" in text
    assert "def test_concurrent_requests_share_executions" in text
    assert "images/s" in text and "benchmark.png" in html
    assert (site / "projects/01-image-classification/results/benchmark.png").stat().st_size > 10_000


def test_no_snippet_marker_leaks_into_any_page(site: Path):
    leaked = [
        str(p.relative_to(site))
        for p in site.rglob("*.html")
        if "--8&lt;--" in p.read_text() or "--8<--" in p.read_text()
    ]
    assert not leaked


def test_a_missing_snippet_fails_the_build(tmp_path: Path):
    """check_paths is on: the docs cannot silently drop code that moved."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text('# x\n\n--8<-- "no/such/file.py"\n')
    config = (REPO_ROOT / "mkdocs.yml").read_text().split("\nnav:")[0].replace("exclude_docs", "x_exclude")
    (tmp_path / "mkdocs.yml").write_text(config.replace("docs_dir: docs", f"docs_dir: {docs}"))
    done = subprocess.run(
        ["mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0


@pytest.fixture(scope="module")
def served_site(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def site_pages() -> list[tuple[str, str, str]]:
    """(docs file, URL path, title) of every page the site publishes."""
    pages = []
    for md in sorted(DOCS.rglob("*.md")):
        relative = md.relative_to(DOCS).as_posix()
        if "/results/" in relative:
            continue  # tables included into project pages, not pages (exclude_docs)
        page = relative.removesuffix(".md")
        path = "/" if page == "index" else "/" + page.removesuffix("index").removesuffix("/") + "/"
        title = next(line[2:].strip() for line in md.read_text().splitlines() if line.startswith("# "))
        pages.append((relative, path.replace("//", "/"), title))
    return pages


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = system_tool("chromium", "chromium-browser", debian="chromium")  # make test installs it on Debian
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SCREENSHOTS = {"/": "home.png", "/fundamentals/inference-lifecycle/": "chapter-inference-lifecycle.png"}


@pytest.mark.browser
@pytest.mark.parametrize("source, path, heading", site_pages(), ids=lambda value: str(value))
def test_page_renders_in_chromium_without_console_errors(
    served_site: str, browser, source: str, path: str, heading: str
):
    markdown = (DOCS / source).read_text()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    page.goto(served_site + path, wait_until="networkidle")
    assert page.locator("h1").first.inner_text().strip().rstrip("¶").strip() == heading
    diagrams = markdown.count("```mermaid")
    if diagrams:
        # Every diagram rendered: Material swaps the mermaid source for a drawing in a closed shadow root.
        page.wait_for_function(
            f"""() => {{ const all = [...document.querySelectorAll('.mermaid')];
            return all.length === {diagrams} && all.every(el => el.textContent.trim() === ''
                && el.getBoundingClientRect().height > 20); }}""",
            timeout=15_000,
        )
    if "results/benchmark.png" in markdown:
        assert page.locator("img[src*='benchmark.png']").evaluate("img => img.naturalWidth") > 0
    page.close()
    assert errors == []


@pytest.mark.browser
def test_screenshots_are_kept_as_artifacts(served_site: str, browser):
    """The home page and one chapter page, photographed into build/test-artifacts/ for a reviewer."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path, name in SCREENSHOTS.items():
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served_site + path, wait_until="networkidle")
        page.screenshot(path=ARTIFACTS / name, full_page=True)
        page.close()
        assert (ARTIFACTS / name).read_bytes()[:4] == b"\x89PNG"


def test_no_broken_internal_links_or_anchors(site: Path):
    """Every relative link in the built site points to a page that exists, and to an id on it."""
    ids: dict[Path, set[str]] = {}

    def ids_of(page: Path) -> set[str]:
        if page not in ids:
            ids[page] = set(re.findall(r'\sid="([^"]+)"', page.read_text(errors="replace")))
        return ids[page]

    broken = []
    for page in site.rglob("*.html"):
        for href in re.findall(r'href="([^"]+)"', page.read_text(errors="replace")):
            if re.match(r"^[a-z]+:", href) or href.startswith("//"):
                continue
            target, _, anchor = href.partition("#")
            base = site if target.startswith("/") else page.parent  # 404.html links from the root
            path = (base / target.lstrip("/")).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif anchor and path.suffix == ".html" and anchor not in ids_of(path):
                broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_search_index_finds_a_known_term(site: Path):
    import json

    index = json.loads((site / "search/search_index.json").read_text())
    hits = {doc["location"].split("#")[0] for doc in index["docs"] if "dynamic batching" in doc["text"].lower()}
    assert "projects/01-image-classification/" in hits
