"""Reading a /metrics page (Prometheus text format) with prometheus_client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def samples(url: str, name: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample called ``name`` (a counter's name ends in ``_total``)."""
    text = httpx.get(url, timeout=10).text
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def by_label(url: str, name: str, label: str, **where: str) -> dict[str, float]:
    """The samples of ``name`` whose labels include ``where``, summed by the value of ``label``."""
    totals: dict[str, float] = {}
    for labels, value in samples(url, name):
        if all(labels.get(k) == v for k, v in where.items()):
            totals[labels[label]] = totals.get(labels[label], 0.0) + value
    return totals


def metric_total(url: str, name: str, **where: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``where``: what a test reads
    before and after a scenario, to assert what the scenario changed. The metric must be declared on
    the page (a labelled one has no sample before its first use): a missing metric is an error, never 0."""
    text = httpx.get(url, timeout=10).text
    declared, value = False, 0.0
    for family in text_string_to_metric_families(text):
        stem = {name, *(name.removesuffix(suffix) for suffix in ("_total", "_count", "_sum", "_bucket"))}
        declared = declared or family.name in stem
        value += sum(
            sample.value
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in where.items())
        )
    if not declared:
        raise AssertionError(f"{url} exposes no {name}")
    return value
