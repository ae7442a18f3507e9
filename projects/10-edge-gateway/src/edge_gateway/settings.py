"""Typed settings: the only thing that differs between a laptop, the tests and a box in a shop."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables prefixed ``EDGE_GATEWAY_`` (e.g. ``EDGE_GATEWAY_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="EDGE_GATEWAY_")

    gateway_id: str = Field(
        "gateway-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="This box, as the cloud knows it."
    )
    data_dir: str = Field("/var/lib/edge-gateway", description="SQLite database and model bundles.")
    max_db_bytes: int = Field(
        2 * 1024**3, ge=4096, description="The database never grows past this (the box's disk is shared)."
    )

    # --8<-- [start:inference]
    # A small box: one thread for the model (the other cores serve the network and the database),
    # and no memory arena (ONNX Runtime's arena keeps the peak of every run; measured on the page).
    intra_op_threads: int = Field(1, ge=1, le=64)
    cpu_mem_arena: bool = False
    # --8<-- [end:inference]

    # Devices: an allow-list of device ids with one key each (HMAC-SHA256 of what they send).
    devices_file: str = Field("/etc/edge-gateway/devices.json", description='{"device id": "key", ...}')
    max_image_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(16_000_000, ge=1)
    max_clock_skew_s: float = Field(24 * 3600, gt=0, description="Capture times further ahead are refused.")

    cache_entries: int = Field(10_000, ge=0, description="Answers kept by content hash (0: no cache).")

    mqtt_host: str | None = Field(None, description="Broker host; none: HTTP ingest only.")
    mqtt_port: int = 1883
    mqtt_topic: str = "devices/+/images"

    cloud_url: str | None = Field(None, description="Where results are forwarded; none: keep them here.")
    gateway_token: str = Field("", description="Bearer token the cloud knows this gateway by.")
    sync_interval_s: float = Field(5.0, gt=0)
    sync_batch: int = Field(200, ge=1, le=5000)
    backoff_max_s: float = Field(300.0, gt=0, description="Longest wait between failed syncs.")
    outbox_max: int = Field(100_000, ge=10, description="Results waiting; beyond, the oldest are summarised.")

    update_url: str | None = Field(None, description="Where new model bundles are announced; none: no updates.")
    update_interval_s: float = Field(60.0, gt=0)
    update_public_key: str = Field("", description="Ed25519 public key (base64) bundles must be signed with.")
    update_public_key_file: str | None = Field(None, description="Or a file holding it (compose mounts one).")
    golden_dir: str = Field("/etc/edge-gateway/golden", description="Images with known answers a bundle must pass.")
    bootstrap_bundle: str | None = Field(None, description="A bundle installed at first start, verified like any.")

    def pinned_key(self) -> str:
        if self.update_public_key or not self.update_public_key_file:
            return self.update_public_key
        return Path(self.update_public_key_file).read_text().strip()

    max_request_bytes: int = Field(6 * 1024 * 1024)
    retry_after_s: int = Field(5, ge=1)
    log_level: str = "INFO"
