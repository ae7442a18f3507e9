"""The database schema's history (Alembic). ``migrate(url)`` brings a database up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


def config(url: str) -> Config:
    alembic = Config()
    alembic.set_main_option("script_location", str(HERE))
    # SQLAlchemy's name for psycopg 3; the service's URL is plain libpq.
    alembic.set_main_option("sqlalchemy.url", url.replace("postgresql://", "postgresql+psycopg://", 1))
    return alembic


def migrate(url: str) -> None:
    command.upgrade(config(url), "head")
