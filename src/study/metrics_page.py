"""Reading a /metrics page (Prometheus text format) with prometheus_client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def samples(url: str, name: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample called ``name`` (a counter's name ends in ``_total``)."""
    text = httpx.get(url, timeout=10).text
    return [(sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def by_label(url: str, name: str, label: str, **where: str) -> dict[str, float]:
    """The samples of ``name`` whose labels include ``where``, summed by the value of ``label``."""
    totals: dict[str, float] = {}
    for labels, value in samples(url, name):
        if all(labels.get(k) == v for k, v in where.items()):
            totals[labels[label]] = totals.get(labels[label], 0.0) + value
    return totals
