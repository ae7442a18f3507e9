"""PostgreSQL: every statement of a request runs in a transaction that names its tenant, so that
row-level security (schema.sql) limits it to that tenant's rows whatever the SQL says."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from secure_platform.audit import AuditRecord

# What a tenant may read back of a prediction (never the tenant column: it is the caller's own).
READ_COLUMNS = "id, model, client_id, subject, row_count, input_sha256, labels, created_at"


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached or did not answer in time; nothing was written."""


def apply_schema(owner_url: str, app_password: str | None) -> None:
    """Create or update the tables, policies and the application role (as the schema owner)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(files("secure_platform").joinpath("schema.sql").read_text())
        if app_password is not None:
            conn.execute(sql.SQL("ALTER ROLE inference_app PASSWORD {}").format(sql.Literal(app_password)))


@dataclass(frozen=True)
class Prediction:
    id: uuid.UUID
    model: str
    client_id: str
    subject: str
    row_count: int
    input_sha256: str
    labels: list[str]


class Database:
    def __init__(self, url: str, timeout_s: float, tenant_filter: bool = True):
        self.timeout_s, self.tenant_filter = timeout_s, tenant_filter
        self.pool = AsyncConnectionPool(
            url, min_size=1, max_size=8, open=False, timeout=timeout_s, kwargs={"autocommit": False}
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    # --8<-- [start:tenant]
    @asynccontextmanager
    async def tenant(self, tenant: str | None) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction in which the database knows the tenant (``app.tenant_id``, local to the
        transaction: a pooled connection never carries it into the next request)."""
        try:
            async with self.pool.connection() as conn:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.tenant_id', %s, true), set_config('statement_timeout', %s, true)",
                        [tenant or "", f"{int(self.timeout_s * 1000)}ms"],
                    )
                    yield conn
        except (psycopg.OperationalError, TimeoutError) as exc:  # the pool's timeout is an OperationalError
            raise DatabaseUnavailable(str(exc)) from exc

    # --8<-- [end:tenant]

    def _where_tenant(self, tenant: str) -> tuple[sql.Composable, list]:
        """The application's own filter (row-level security holds without it)."""
        if self.tenant_filter:
            return sql.SQL("tenant_id = %s"), [tenant]
        return sql.SQL("TRUE"), []

    async def ping(self) -> bool:
        try:
            async with self.tenant(None) as conn:
                await conn.execute("SELECT 1")
            return True
        except DatabaseUnavailable:
            return False

    async def record_prediction(self, tenant: str, prediction: Prediction, audit: AuditRecord) -> None:
        """The prediction and its audit record commit together, or neither does."""
        async with self.tenant(tenant) as conn:
            await conn.execute(
                "INSERT INTO predictions (tenant_id, id, model, client_id, subject, row_count, input_sha256, labels)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    tenant,
                    prediction.id,
                    prediction.model,
                    prediction.client_id,
                    prediction.subject,
                    prediction.row_count,
                    prediction.input_sha256,
                    json.dumps(prediction.labels),
                ],
            )
            await append_audit(conn, audit)

    async def audit(self, record: AuditRecord) -> None:
        async with self.tenant(record.tenant) as conn:
            await append_audit(conn, record)

    async def prediction(self, tenant: str, prediction_id: uuid.UUID) -> dict | None:
        where, params = self._where_tenant(tenant)
        query = sql.SQL(f"SELECT {READ_COLUMNS} FROM predictions WHERE {{}} AND id = %s").format(where)
        async with self.tenant(tenant) as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query, [*params, prediction_id])
            return await cursor.fetchone()

    async def predictions(self, tenant: str, limit: int) -> list[dict]:
        where, params = self._where_tenant(tenant)
        query = sql.SQL(f"SELECT {READ_COLUMNS} FROM predictions WHERE {{}} ORDER BY created_at DESC LIMIT %s").format(
            where
        )
        async with self.tenant(tenant) as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query, [*params, limit])
            return await cursor.fetchall()

    async def disabled_models(self, tenant: str) -> set[str]:
        where, params = self._where_tenant(tenant)
        query = sql.SQL("SELECT model FROM entitlements WHERE {} AND NOT enabled").format(where)
        async with self.tenant(tenant) as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return {row[0] for row in rows}

    async def set_entitlement(self, tenant: str, model: str, enabled: bool, actor: str, audit: AuditRecord) -> None:
        async with self.tenant(tenant) as conn:
            await conn.execute(
                "INSERT INTO entitlements (tenant_id, model, enabled, changed_by) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, model) DO UPDATE"
                " SET enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by, changed_at = now()",
                [tenant, model, enabled, actor],
            )
            await append_audit(conn, audit)

    async def audit_records(self, tenant: str, after: int, limit: int) -> list[dict]:
        where, params = self._where_tenant(tenant)
        query = sql.SQL("SELECT seq, body, hash FROM audit_log WHERE {} AND seq > %s ORDER BY seq LIMIT %s").format(
            where
        )
        async with self.tenant(tenant) as conn:
            rows = await (await conn.execute(query, [*params, after, limit])).fetchall()
        return [{"seq": seq, "hash": digest, **json.loads(body)} for seq, body, digest in rows]


async def append_audit(conn: psycopg.AsyncConnection, record: AuditRecord) -> None:
    await conn.execute("SELECT * FROM audit_append(%s, %s)", [record.tenant, record.body()])
