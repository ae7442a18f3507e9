"""Alembic's entry point: run the migrations in versions/ against AB_PLATFORM_DATABASE_URL (or the
URL the service passes in). The migrations are plain SQL; no ORM models are involved."""

from alembic import context
from sqlalchemy import create_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "set sqlalchemy.url (the service passes its database URL)"

# One migration at a time even when several API instances start together.
LOCK_ID = 909_001

with create_engine(url).connect() as connection:
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_ID})")
    try:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_ID})")
        connection.commit()
