"""Prometheus metrics. The API exposes its own at /metrics; each worker serves its own on
TRANSLATION_WORKER_METRICS_PORT (engines are counted where they run)."""

from prometheus_client import Counter, Histogram

CHARACTERS = Counter("translation_characters_total", "Source characters sent to an engine.", ["engine"])
MEMORY = Counter(
    "translation_memory_lookups_total",
    "Translation-memory lookups by engine and result (hit, miss).",
    ["engine", "result"],
)
SAVED_CHARACTERS = Counter(
    "translation_memory_saved_characters_total",
    "Source characters the memory answered: engine work not done (and not paid for).",
    ["engine"],
)
ENGINE_SECONDS = Counter("translation_engine_seconds_total", "Time spent in engine calls.", ["engine"])
COST = Counter(
    "translation_cost_dollars_total", "Engine time priced at TRANSLATION_PRICE_PER_HOUR, in dollars.", ["engine"]
)
SEGMENT_SECONDS = Histogram(
    "translation_segment_seconds",
    "Engine time per segment (a batch's time over its size).",
    ["engine"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_SIZE = Histogram(
    "translation_batch_size", "Segments per engine call.", ["engine"], buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)
FALLBACKS = Counter(
    "translation_fallbacks_total", "Segments the cheap engine took over, by engine and reason.", ["engine", "reason"]
)
JOBS = Counter("translation_jobs_total", "Document jobs by outcome (done, failed, handed_back).", ["outcome"])
SEGMENTS_DONE = Counter("translation_job_segments_total", "Document segments checkpointed by the workers.")
