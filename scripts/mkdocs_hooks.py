"""MkDocs hooks for the course site (listed under `hooks:` in mkdocs.yml), run by every `mkdocs build`
and `mkdocs serve`:

- the diagrams' script, mermaid.js, is fetched once if it is missing (scripts/docs-assets.sh), so the
  plain `uv run mkdocs serve` draws diagrams instead of showing their source;
- a figure in prose is taken from the benchmark results it quotes, never retyped:
  ``{{ result 03-rag/benchmark retrieval/by_page/recall@1 }}`` is replaced by that value of
  docs/projects/03-rag/results/benchmark.json. A list of rows is entered by a selection,
  ``results[backend=vllm,target=llm-server,concurrency=16]/tokens_per_s_total``, never by position;
  a format after a colon rounds it: ``{{ result 08-ocr/benchmark accuracy/engines/Tesseract 5/cer :.3f }}``.
  A name that does not resolve fails the build.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "projects"
MERMAID = ROOT / "docs" / "assets" / "javascripts" / "mermaid.min.js"
RESULT = re.compile(r"\{\{ result (?P<file>[\w.-]+/[\w.-]+) (?P<path>.+?)(?: :(?P<format>\S+))? \}\}")
STEP = re.compile(r"(?P<key>[^/\[\]]*)(?:\[(?P<where>[^\]]+)\])?")


def on_config(config: Any) -> Any:
    if not MERMAID.exists():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "docs-assets.sh")], capture_output=True, text=True)
        if done.returncode != 0:
            raise PluginError(f"mermaid.js is missing and could not be fetched: {done.stdout}{done.stderr}")
    return config


@cache
def results_file(name: str) -> Any:
    project, stem = name.split("/")
    path = RESULTS / project / "results" / f"{stem}.json"
    if not path.exists():
        raise PluginError(f"no results file {path.relative_to(ROOT)}")
    return json.loads(path.read_text())


def select(rows: list[dict], where: str) -> dict:
    # Pairs are split at commas that start another key=, so a value may hold a comma.
    wanted = dict(pair.strip().split("=", 1) for pair in re.split(r",(?=\s*[\w.]+=)", where))
    found = [row for row in rows if all(str(row.get(k)) == v for k, v in wanted.items())]
    if len(found) != 1:
        raise PluginError(f"[{where}] matches {len(found)} rows, not one")
    return found[0]


def result(name: str, path: str) -> Any:
    """The value at ``path`` (keys joined by slashes, rows chosen by [key=value,...]) of a results file."""
    value = results_file(name)
    for part in path.split("/"):
        step = STEP.fullmatch(part)
        if step is None:
            raise PluginError(f"{name}.json: cannot read {part!r} of {path!r}")
        key, where = step["key"], step["where"]
        if key:
            if not isinstance(value, dict) or key not in value:
                raise PluginError(f"{name}.json has no {path!r} (stopped at {key!r})")
            value = value[key]
        if where:
            value = select(value, where)
    return value


def on_page_markdown(markdown: str, **_: Any) -> str:
    return RESULT.sub(lambda m: format(result(m["file"], m["path"]), m["format"] or ""), markdown)
