"""A measured figure in the course's prose comes from its results file through the site's
``{{ result ... }}`` hook (scripts/mkdocs_hooks.py), never retyped: a retyped figure goes stale at
the next benchmark run, and nothing would notice. This test finds figures in the pages' prose that
equal a value of a results file (or round from one), and the hook's own behaviour on a real results
file. What it cannot catch: a figure of fewer than three significant digits, or one rounded beyond
recognition ("near 0.6" for 0.614); those stay a reviewer's job."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from study.paths import DOCS_DIR as DOCS
from study.paths import REPO_ROOT

FIGURE = re.compile(r"(?<![\w.\-/])(\d+\.\d+)(?![\w.])")
HIDDEN = [
    re.compile(r"^(```|~~~).*?^\1", re.S | re.M),  # code blocks
    re.compile(r"^--8<--.*$", re.M),  # includes (results tables come in this way)
    re.compile(r"\{\{ result [^}]+\}\}"),  # figures already taken from results
    re.compile(r"`[^`\n]+`"),  # inline code: versions, settings
    re.compile(r"14\.4 ?×"),  # the fast-burn multiplier of Google's SRE workbook: a setting, not a result
    re.compile(r"99\.5 ?%"),  # the availability objective of the projects' SLO rules: a setting, not a result
    re.compile(r"\b(Kubernetes|Python|Node|Java|Helm|numpy) \d+(\.\d+)+"),  # versions in prose
]


def measured_values(data, inside_rows: bool = False) -> set[float]:
    """Every number of a results file, except those inside series (time lines, raw samples):
    lists of numbers, whose values are not figures anyone quotes."""
    if isinstance(data, dict):
        return set().union(*(measured_values(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        rows = [v for v in data if isinstance(v, dict)]
        return set().union(*(measured_values(v) for v in rows)) if rows else set()
    if isinstance(data, float):
        return {data}
    return set()


def results_of(project: Path) -> set[float]:
    values: set[float] = set()
    for path in sorted((project / "results").glob("*.json")):
        values |= measured_values(json.loads(path.read_text()))
    return values


def significant_digits(figure: str) -> int:
    return len(figure.replace(".", "").lstrip("0"))


def retyped(page: Path, values: set[float]) -> list[str]:
    text = page.read_text()
    for pattern in HIDDEN:
        text = pattern.sub("", text)
    return sorted({m[1] for m in FIGURE.finditer(text) if significant_digits(m[1]) >= 3 and rounds_from(m[1], values)})


def rounds_from(figure: str, values: set[float]) -> bool:
    """The figure is one of the values as written, or rounded to as many decimals."""
    decimals = len(figure.split(".")[1])
    return any(round(v, decimals) == float(figure) for v in values)


PROJECTS = sorted(p for p in (DOCS / "projects").iterdir() if (p / "results").is_dir())
CHAPTERS = sorted(p for p in DOCS.rglob("*.md") if "projects" not in p.relative_to(DOCS).parts)


LINK = re.compile(r"projects/(\d\d-[\w-]+)/")


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: str(p.relative_to(DOCS)))
def test_chapters_quote_no_measured_figure_by_hand(page: Path):
    """Against the results of the projects the chapter links to (a figure it quotes is from them)."""
    linked = {DOCS / "projects" / name for name in LINK.findall(page.read_text())}
    values = set().union(set(), *(results_of(p) for p in PROJECTS if p in linked))
    assert retyped(page, values) == [], "take these from the results: {{ result project/file path }}"


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_project_pages_quote_no_measured_figure_by_hand(project: Path):
    assert retyped(project / "index.md", results_of(project)) == []


def test_the_check_finds_a_figure_typed_from_a_results_file(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("Recall@1 is 0.614 here, MRR 0.739, `0.614` in code is fine, and so is 3.35 TB/s.\n")
    assert retyped(page, {0.614, 0.73912}) == ["0.614", "0.739"]


def load_hooks():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", REPO_ROOT / "scripts" / "mkdocs_hooks.py")
    assert spec and spec.loader
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    return hooks


def test_the_hook_puts_a_results_value_in_the_prose():
    hooks = load_hooks()
    rag = json.loads((DOCS / "projects/03-rag/results/benchmark.json").read_text())
    page = "recall@1 is {{ result 03-rag/benchmark retrieval/by_page/recall@1 }} by page."
    assert hooks.on_page_markdown(page) == f"recall@1 is {rag['retrieval']['by_page']['recall@1']} by page."


def test_the_hook_selects_rows_by_their_fields_and_refuses_what_does_not_resolve():
    hooks = load_hooks()
    chat = json.loads((DOCS / "projects/02-streaming-llm-chat/results/benchmark.json").read_text())
    [row] = [
        r for r in chat["results"] if r["backend"] == "vllm" and r["target"] == "llm-server" and r["concurrency"] == 16
    ]
    where = "results[backend=vllm,target=llm-server,concurrency=16]/tokens_per_s_total"
    assert hooks.result("02-streaming-llm-chat/benchmark", where) == row["tokens_per_s_total"]
    assert hooks.on_page_markdown(f"{{{{ result 02-streaming-llm-chat/benchmark {where} :.0f }}}}") == (
        f"{row['tokens_per_s_total']:.0f}"
    )
    with pytest.raises(hooks.PluginError, match="not one"):
        hooks.result("02-streaming-llm-chat/benchmark", "results[backend=vllm]/tokens_per_s_total")
    with pytest.raises(hooks.PluginError, match="no 'retrieval/by_page/recall@2'"):
        hooks.result("03-rag/benchmark", "retrieval/by_page/recall@2")
