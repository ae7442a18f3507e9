"""PostgreSQL as a local process: Debian's server binaries, a cluster of its own on a free port.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` system user
(which the Debian package creates) and lives in a folder of /tmp that user can reach; otherwise it
lives in ``data_dir``. Either way, a restart on the same port finds the same data."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from study.errors import StudyError
from study.processes import LocalServer, ManagedProcess, free_port

USER = DATABASE = "app"


def server_binary(name: str) -> str:
    """``initdb``, ``postgres``: on PATH, or where Debian installs them (/usr/lib/postgresql/N/bin)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise StudyError(f"{name} (PostgreSQL) is not installed. Debian/Ubuntu: sudo apt-get install postgresql")
    return found


def _ready(port: int) -> bool:
    """Accepting connections, crash recovery (after a kill) finished: what pg_isready reports."""
    done = subprocess.run(
        [server_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-t", "1"], capture_output=True
    )
    return done.returncode == 0


@dataclass
class LocalPostgres(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None
    cluster: Path | None = None  # where the files are (data_dir, or a folder of postgres's own as root)

    @property
    def url(self) -> str:
        """A libpq URL (psycopg, SQLAlchemy): trust authentication on 127.0.0.1 only."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def owner(self) -> str | None:
        """The system user the server runs as: ``postgres`` when we are root, else ourselves."""
        return "postgres" if os.geteuid() == 0 else None

    def _init_cluster(self) -> Path:
        if os.geteuid() == 0:
            cluster = Path(tempfile.mkdtemp(prefix="study-postgres-")) / "data"
            cluster.parent.chmod(0o755)
            cluster.mkdir()
            shutil.chown(cluster, "postgres", "postgres")
        else:
            cluster = self.data_dir / "data"
            cluster.mkdir(parents=True)
        done = subprocess.run(
            [server_binary("initdb"), "-D", str(cluster), "-A", "trust", "-U", USER, "--no-sync"],
            capture_output=True,
            text=True,
            user=self.owner,
            group=self.owner,
            cwd=cluster,
        )
        if done.returncode != 0:
            raise StudyError(f"initdb failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
        return cluster

    def start(self) -> None:
        """Start (or start again, on the same port and files); the ``app`` database exists after."""
        first_start = self.cluster is None
        if self.cluster is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.cluster = self._init_cluster()
        options = ["-p", str(self.port), "-k", str(self.cluster), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"]
        self.process = ManagedProcess(
            "postgres",
            [server_binary("postgres"), "-D", str(self.cluster), *options],
            self.data_dir / "postgres.log",
            user=self.owner,
        )
        self.process.start()
        self.process.wait_until(lambda: _ready(self.port), 60, f"ready on port {self.port}")
        if first_start:
            self.sql("postgres", f"CREATE DATABASE {DATABASE}")

    def sql(self, database: str, statement: str) -> str:
        """Run one statement with the server's own client (psql); its output, unaligned."""
        done = subprocess.run(
            [
                server_binary("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                statement,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StudyError(f"psql failed: {done.stderr[-1500:]}")
        return done.stdout.strip()

    def remove(self) -> None:
        """Stop, and delete the cluster's files."""
        self.stop()
        if self.cluster is not None:
            shutil.rmtree(self.cluster.parent if os.geteuid() == 0 else self.cluster, ignore_errors=True)
