"""Documents and job state in S3: the original, the job's record, its progress checkpoint and the
result, under ``jobs/<id>/``. S3 is where a job lives; Redis only holds the queue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from translation.settings import Settings


class StorageUnavailable(RuntimeError):
    """S3 cannot be reached."""


class Storage:
    def __init__(self, settings: Settings):
        self.bucket = settings.s3_bucket
        self.url_ttl_s = settings.download_url_ttl_s
        self.client = self._client(settings, settings.s3_endpoint_url)
        # A presigned URL names the host it was signed for: inside compose the service reaches
        # http://minio:9000, a reader's browser reaches the public address.
        public = settings.s3_public_endpoint_url
        self.signer = self._client(settings, public) if public else self.client

    @staticmethod
    def _client(settings: Settings, endpoint_url: str | None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            config=Config(signature_version="s3v4", connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}),
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self.client, method), **kwargs)
        except (EndpointConnectionError, BotoCoreError) as exc:
            raise StorageUnavailable(str(exc)) from exc
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise StorageUnavailable(str(exc)) from exc
            raise

    async def ensure_bucket(self) -> None:
        try:
            await self._call("head_bucket", Bucket=self.bucket)
        except ClientError:
            await self._call("create_bucket", Bucket=self.bucket)

    async def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        await self._call("put_object", Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    async def get(self, key: str) -> bytes | None:
        try:
            answer = await self._call("get_object", Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return await asyncio.to_thread(answer["Body"].read)

    async def put_json(self, key: str, value: dict[str, Any]) -> None:
        await self.put(key, json.dumps(value).encode(), "application/json")

    async def get_json(self, key: str) -> dict[str, Any] | None:
        body = await self.get(key)
        return None if body is None else json.loads(body)

    async def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = await self._call("list_objects_v2", Bucket=self.bucket, Prefix=prefix, **token)
            found += [item["Key"] for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def download_url(self, key: str, filename: str) -> str:
        return self.signer.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=self.url_ttl_s,
        )

    async def ready(self) -> bool:
        try:
            await self._call("head_bucket", Bucket=self.bucket)
            return True
        except (StorageUnavailable, ClientError):
            return False
