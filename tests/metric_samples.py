"""Reading a counter or gauge from a /metrics page, so that a test asserts what a scenario changed:
read it before, run the scenario, read it after, compare. A metric that merely exists proves nothing
(a counter created at start-up reads 0; one raised by an earlier test reads more)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric_value(url: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` (a counter's ``_total`` included) whose labels include
    ``labels``. The metric must be declared on the page: a missing metric is an error, never 0."""
    text = httpx.get(url, timeout=30).text
    declared, total = False, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name or (family.name == name and sample.name == f"{name}_total"):
                declared = True
                if all(sample.labels.get(key) == value for key, value in labels.items()):
                    total += sample.value
        # Declared even before its first sample (a labelled metric has none until it is used).
        if family.name in {name, *(name.removesuffix(suffix) for suffix in ("_total", "_count", "_sum", "_bucket"))}:
            declared = True
    assert declared, f"{url} exposes no {name}"
    return total
