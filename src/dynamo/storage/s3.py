"""S3Storage: an S3 bucket through boto3 (imported when the first S3Storage is made).

S3 has keys, not directories. Here a directory is a key prefix, and ``mkdir`` (and every upload,
for the parents of the new file) writes a zero-byte marker object ``dir/`` so that empty
directories exist and deleting the last file keeps its directory. S3 keeps no adler32: uploads
store it as object metadata ``x-amz-meta-adler32``; ``checksum`` reads it there, or computes it
by reading the object when it was written by something else. Listing is one paginated
``list_objects_v2`` over the prefix (1000 keys per page held at a time); directories are
inferred from the keys, so the walk keeps the set of directory names it has seen (not files).
``copy_from`` another S3Storage on the same endpoint is a server-side ``copy_object``.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageError,
    StorageExists,
    StorageIsDirectory,
    StorageNoSpace,
    StorageNotFound,
    StoragePermissionDenied,
    StorageTimeout,
    StorageUnavailable,
    StorageUnsupported,
    check_download,
    error_from_message,
)
from dynamo.storage.ports import (
    CHUNK_SIZE,
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_file,
    adler32_hex,
    normalize_path,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["S3Storage", "translate_s3_error"]

_EPOCH = datetime.fromtimestamp(0, UTC)
_BY_CODE: dict[str, type[StorageError]] = {
    "NoSuchKey": StorageNotFound,
    "NoSuchBucket": StorageNotFound,
    "404": StorageNotFound,
    "NotFound": StorageNotFound,
    "AccessDenied": StoragePermissionDenied,
    "403": StoragePermissionDenied,
    "InvalidAccessKeyId": StoragePermissionDenied,
    "SignatureDoesNotMatch": StoragePermissionDenied,
    "QuotaExceeded": StorageNoSpace,
    "EntityTooLarge": StorageNoSpace,
    "RequestTimeout": StorageTimeout,
    "SlowDown": StorageUnavailable,
    "ServiceUnavailable": StorageUnavailable,
    "503": StorageUnavailable,
    "InternalError": StorageUnavailable,
    "BadDigest": ChecksumMismatch,
}


def translate_s3_error(exc: Exception, path: str) -> StorageError:
    """The typed error for a botocore exception."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        cls = _BY_CODE.get(code)
        if cls is not None:
            return cls(f"S3 {code}: {exc}", path=path)
    name = type(exc).__name__
    if "Timeout" in name:
        return StorageTimeout(str(exc), path=path)
    if "Connection" in name or "Endpoint" in name:
        return StorageUnavailable(str(exc), path=path)
    return error_from_message(str(exc), path=path)


class S3Storage:
    """One bucket (and optionally a key prefix ``root``) at ``endpoint_url``."""

    scheme = "s3"
    capabilities = frozenset({Capability.THIRD_PARTY_COPY})

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        root: str = "/",
    ) -> None:
        try:
            boto3 = importlib.import_module("boto3")
            config = importlib.import_module("botocore.config")
            self._botocore = importlib.import_module("botocore.exceptions")
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise StorageUnsupported("boto3 is not installed (pip install boto3)") from exc
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.root = normalize_path(root).strip("/")
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )
        self._known_dirs: set[str] = set()
        self._staging = DiskStaging(f"s3-{bucket}", self._is_file)

    def create_bucket(self) -> None:
        """Create the bucket (for tests and new sites); an existing one of ours is fine."""
        try:
            self._client.create_bucket(Bucket=self.bucket)
        except self._botocore.ClientError as exc:
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise translate_s3_error(exc, self.bucket) from exc

    def _key(self, path: str) -> str:
        """The object key of a normalised site path (no leading slash; '' for the root)."""
        relative = path.lstrip("/")
        if not self.root:
            return relative
        return f"{self.root}/{relative}" if relative else self.root

    def _path(self, key: str) -> str:
        return "/" + key[len(self.root) + 1 :] if self.root else "/" + key

    def url(self, path: str) -> str:
        return f"s3://{self.bucket}/{self._key(normalize_path(path))}"

    def _call(self, path: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(Bucket=self.bucket, **kwargs)
        except (self._botocore.BotoCoreError, self._botocore.ClientError) as exc:
            raise translate_s3_error(exc, path) from exc

    def _head(self, path: str) -> dict[str, Any] | None:
        key = self._key(path)
        if not key:
            return None
        try:
            return dict(self._call(path, "head_object", Key=key))
        except StorageNotFound:
            return None

    def _is_file(self, path: str) -> bool:
        return self._head(normalize_path(path)) is not None

    def _dir_entries(self, path: str, limit: int) -> list[dict[str, Any]]:
        prefix = self._key(path)
        prefix = prefix + "/" if prefix else ""
        answer = self._call(path, "list_objects_v2", Prefix=prefix, MaxKeys=limit)
        return list(answer.get("Contents", []))

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        head = self._head(path)
        if head is not None:
            return FileStat(path, int(head["ContentLength"]), head["LastModified"])
        if path == "/":
            self._call(path, "head_bucket")
            return FileStat(path, 0, _EPOCH, True)
        entries = self._dir_entries(path, 1)
        if not entries:
            raise StorageNotFound("no such file or directory", path=path)
        return FileStat(path, 0, entries[0]["LastModified"], True)

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        top = normalize_path(path)
        if not self.stat(top).is_dir:
            raise StorageNotFound("not a directory", path=top)
        prefix = self._key(top)
        prefix = prefix + "/" if prefix else ""
        seen = {top}
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key: str = item["Key"]
                    is_marker = key.endswith("/")
                    site_path = self._path(key.rstrip("/"))
                    parts = site_path.split("/")
                    for depth in range(2, len(parts) + (1 if is_marker else 0)):
                        directory = "/".join(parts[:depth])
                        if directory not in seen and len(directory) > len(top):
                            seen.add(directory)
                            yield FileStat(directory, 0, item["LastModified"], True)
                    if not is_marker:
                        yield FileStat(site_path, int(item["Size"]), item["LastModified"])
        except (self._botocore.BotoCoreError, self._botocore.ClientError) as exc:
            raise translate_s3_error(exc, top) from exc

    def checksum(self, path: str) -> str:
        path = normalize_path(path)
        head = self._head(path)
        if head is None:
            if self.stat(path).is_dir:
                raise StorageIsDirectory("is a directory", path=path)
            raise StorageNotFound("no such file", path=path)
        stored = head.get("Metadata", {}).get("adler32")
        if stored:
            return str(stored)
        body = self._call(path, "get_object", Key=self._key(path))["Body"]
        value = 1
        for chunk in body.iter_chunks(CHUNK_SIZE):
            value = zlib.adler32(chunk, value)
        return adler32_hex(value)

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/" or path in self._known_dirs:
            return
        if self._head(path) is not None:
            raise StorageExists("a file is in the way", path=path)
        parent = path.rsplit("/", 1)[0] or "/"
        self.mkdir(parent)
        self._call(path, "put_object", Key=self._key(path) + "/", Body=b"")
        self._known_dirs.add(path)

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        if self._head(path) is not None:
            self._call(path, "delete_object", Key=self._key(path))
            return
        if path == "/":
            raise StorageUnsupported("cannot delete the root", path=path)
        entries = self._dir_entries(path, 2)
        marker = self._key(path) + "/"
        if not entries:
            raise StorageNotFound("no such file or directory", path=path)
        if any(entry["Key"] != marker for entry in entries):
            raise StorageDirectoryNotEmpty("directory not empty", path=path)
        self._call(path, "delete_object", Key=marker)
        self._known_dirs.discard(path)

    def _verify_or_remove(self, path: str, actual: str, checksum: str | None) -> None:
        if checksum is not None and actual != checksum.lower():
            self._call(path, "delete_object", Key=self._key(path))
            raise ChecksumMismatch(
                f"adler32 {actual} != expected {checksum}",
                path=path,
                expected=checksum,
                actual=actual,
            )

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        path = normalize_path(path)
        if not local.is_file():
            raise StorageNotFound("no such local file", path=str(local))
        if not overwrite and self._head(path) is not None:
            raise StorageExists("file exists", path=path)
        self.mkdir(path.rsplit("/", 1)[0] or "/")
        actual = adler32_file(local)
        with local.open("rb") as body:
            self._call(
                path, "put_object", Key=self._key(path), Body=body, Metadata={"adler32": actual}
            )
        self._verify_or_remove(path, actual, checksum)
        return self.stat(path)

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        path = normalize_path(path)
        if self._head(path) is None:
            self.stat(path)
            raise StorageIsDirectory("is a directory", path=path)
        body = self._call(path, "get_object", Key=self._key(path))["Body"]
        value = 1
        with local.open("wb") as out:
            for chunk in body.iter_chunks(CHUNK_SIZE):
                value = zlib.adler32(chunk, value)
                out.write(chunk)
        check_download(path, local, adler32_hex(value), checksum)

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        if not isinstance(source, S3Storage) or source.endpoint_url != self.endpoint_url:
            raise StorageUnsupported(f"no third-party copy from {source.url('/')}", path=path)
        path, source_path = normalize_path(path), normalize_path(source_path)
        actual = source.checksum(source_path)
        if not overwrite and self._head(path) is not None:
            raise StorageExists("file exists", path=path)
        if checksum is not None and actual != checksum.lower():
            raise ChecksumMismatch(
                f"source adler32 {actual} != expected {checksum}",
                path=path,
                expected=checksum,
                actual=actual,
            )
        self.mkdir(path.rsplit("/", 1)[0] or "/")
        self._call(
            path,
            "copy_object",
            Key=self._key(path),
            CopySource={"Bucket": source.bucket, "Key": source._key(source_path)},
            Metadata={"adler32": actual},
            MetadataDirective="REPLACE",
        )
        return self.stat(path)

    def request_stage(self, paths: Iterable[str]) -> str:
        return self._staging.request(paths)

    def poll_stage(self, request_id: str) -> StageStatus:
        return self._staging.poll(request_id)
