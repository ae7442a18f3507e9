"""What Prometheus sees of the gateway (when something scrapes it: at the edge often nothing does,
and the same numbers travel to the cloud with the results)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

IMAGES = Counter("edge_images_total", "Images received, by channel (http, mqtt) and outcome.", ["channel", "outcome"])
INFERENCE = Histogram(
    "edge_inference_seconds",
    "Time in the model for one image (cache hits excluded).",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)
CACHE = Counter("edge_cache_total", "Answer cache lookups by result (hit, miss).", ["result"])
OUTBOX = Gauge("edge_outbox_entries", "Results and summaries waiting for the cloud.")
SUMMARISED = Counter("edge_outbox_summarised_total", "Results folded into summaries because the outbox was full.")
FORWARDED = Counter("edge_forwarded_total", "Outbox entries the cloud acknowledged.")
SYNC_FAILURES = Counter("edge_sync_failures_total", "Sync attempts that failed, by reason.", ["reason"])
LAST_SYNC = Gauge("edge_last_sync_timestamp_seconds", "When the cloud last acknowledged a batch.")
STORAGE_OK = Gauge("edge_storage_writable", "1 if the database accepts writes, else 0.")
MODEL_INFO = Gauge("edge_model_info", "1 for the model version that serves.", ["version"])
UPDATES = Counter("edge_model_updates_total", "Bundles seen, by outcome (installed, refused).", ["outcome"])
