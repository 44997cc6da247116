"""WebDavStorage: WebDAV over HTTP(S) through httpx, with x509 client certificates.

Listing is one ``PROPFIND Depth: 1`` per directory, parsed incrementally from the response
stream, so a walk holds one directory's entries at a time. ``checksum`` asks the server with
``Want-Digest: adler32`` (XrdHttp, dCache answer ``Digest: adler32=...``) and otherwise reads
the file and computes it. Directories are made with ``MKCOL``, level by level. Deleting a
collection is refused unless it is empty (plain WebDAV ``DELETE`` would remove it whole).
Third-party copy (HTTP-TPC ``COPY`` with ``Source:``) is not done: ``copy_from`` raises
StorageUnsupported and :func:`dynamo.storage.copy.copy_file` streams instead.

For grid sites pass ``cert=(usercert, userkey)`` or ``cert=proxy_file`` and ``verify`` as the
CA file or a ``ssl.SSLContext`` built on the hashed CA directory (``X509_CERT_DIR``).
"""

from __future__ import annotations

import contextlib
import importlib
import ssl
import xml.etree.ElementTree as ElementTree
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

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
)
from dynamo.storage.ports import (
    CHUNK_SIZE,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_hex,
    normalize_path,
    part_name,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["WebDavStorage", "error_for_status"]

_DAV = "{DAV:}"
_EPOCH = datetime.fromtimestamp(0, UTC)
_PROPFIND = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    b"<D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>"
)
_BY_STATUS: dict[int, type[StorageError]] = {
    401: StoragePermissionDenied,
    403: StoragePermissionDenied,
    404: StorageNotFound,
    408: StorageTimeout,
    409: StorageNotFound,  # a parent collection is missing
    412: StorageExists,
    413: StorageNoSpace,
    507: StorageNoSpace,
    502: StorageUnavailable,
    503: StorageUnavailable,
    504: StorageTimeout,
}


def error_for_status(status: int, reason: str, path: str) -> StorageError:
    """The typed error for an HTTP error status."""
    cls = _BY_STATUS.get(status, StorageUnavailable if status >= 500 else StorageError)
    return cls(f"HTTP {status} {reason}".strip(), path=path)


def _mtime(text: str | None) -> datetime:
    if not text:
        return _EPOCH
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return _EPOCH


class WebDavStorage:
    """A WebDAV endpoint, e.g. ``WebDavStorage("https://host:1094", root="/data")``."""

    capabilities: frozenset[Any] = frozenset()

    def __init__(
        self,
        endpoint: str,
        *,
        root: str = "/",
        timeout: float = 60.0,
        cert: str | tuple[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
    ) -> None:
        try:
            self._httpx: Any = importlib.import_module("httpx")
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise StorageUnsupported("httpx is not installed (pip install httpx)") from exc
        self.endpoint = endpoint.rstrip("/")
        self.scheme = urlsplit(self.endpoint).scheme
        self.root = normalize_path(root).rstrip("/")
        if isinstance(verify, str) and Path(verify).is_dir():
            verify = ssl.create_default_context(capath=verify)
        if cert is not None and not isinstance(verify, ssl.SSLContext):
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
            if verify is False:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            verify = context
        if cert is not None and isinstance(verify, ssl.SSLContext):
            certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
            verify.load_cert_chain(certfile, keyfile)
            verify.verify_flags |= 0x40  # X509_V_FLAG_ALLOW_PROXY_CERTS: grid proxies
        self._client: Any = self._httpx.Client(timeout=timeout, verify=verify)
        self._staging = DiskStaging(f"webdav-{id(self):x}", self._is_file)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _server_path(self, path: str) -> str:
        normal = normalize_path(path)
        return (self.root + normal) if normal != "/" else (self.root or "") + "/"

    def url(self, path: str) -> str:
        return self.endpoint + quote(self._server_path(path))

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._client.request(method, self.url(path), **kwargs)
        except self._httpx.TimeoutException as exc:
            raise StorageTimeout(str(exc) or "timed out", path=path) from exc
        except self._httpx.TransportError as exc:
            raise StorageUnavailable(str(exc) or type(exc).__name__, path=path) from exc

    def _check(self, response: Any, path: str, *ok: int) -> None:
        if response.status_code not in ok and not (not ok and response.is_success):
            raise error_for_status(response.status_code, response.reason_phrase, path)

    def _entries(self, response: Any, directory: str) -> Iterator[FileStat]:
        """Parse a PROPFIND multistatus incrementally; yields every entry but ``directory``."""
        parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(
            events=("end",)
        )
        prefix = self.root
        for chunk in response.iter_bytes():
            parser.feed(chunk)
            for event in parser.read_events():
                element: object = event[-1]
                if not isinstance(element, ElementTree.Element):
                    continue
                if element.tag != f"{_DAV}response":
                    continue
                href = unquote(urlsplit(element.findtext(f"{_DAV}href", "")).path)
                site_path = normalize_path(href[len(prefix) :] if prefix else href)
                is_dir = element.find(f".//{_DAV}collection") is not None
                if site_path != directory:
                    size = 0 if is_dir else int(element.findtext(f".//{_DAV}getcontentlength") or 0)
                    mtime = _mtime(element.findtext(f".//{_DAV}getlastmodified"))
                    yield FileStat(site_path, size, mtime, is_dir)
                element.clear()
        try:
            parser.close()
        except ElementTree.ParseError as exc:  # the body broke off: the listing is incomplete
            raise StorageUnavailable(f"incomplete PROPFIND answer: {exc}", path=directory) from exc

    def _propfind(self, path: str, depth: str) -> Iterator[FileStat]:
        headers = {"Depth": depth, "Content-Type": "application/xml"}
        request = self._client.build_request(
            "PROPFIND", self.url(path), headers=headers, content=_PROPFIND
        )
        try:
            response = self._client.send(request, stream=True)
        except self._httpx.TimeoutException as exc:
            raise StorageTimeout(str(exc) or "timed out", path=path) from exc
        except self._httpx.TransportError as exc:
            raise StorageUnavailable(str(exc) or type(exc).__name__, path=path) from exc
        try:
            self._check(response, path, 207)
            yield from self._entries(response, "\x00" if depth == "0" else path)
        except self._httpx.TimeoutException as exc:
            raise StorageTimeout(str(exc) or "timed out", path=path) from exc
        except self._httpx.TransportError as exc:  # the server went away mid-answer
            raise StorageUnavailable(str(exc) or type(exc).__name__, path=path) from exc
        finally:
            response.close()

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        for entry in self._propfind(path, "0"):
            return FileStat(path, entry.size, entry.mtime, entry.is_dir)
        raise StorageNotFound("no PROPFIND answer", path=path)

    def _is_file(self, path: str) -> bool:
        try:
            return not self.stat(path).is_dir
        except StorageNotFound:
            return False

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        stack = [normalize_path(path)]
        while stack:
            directory = stack.pop()
            for entry in self._propfind(directory, "1"):
                if entry.is_dir:
                    stack.append(entry.path)
                yield entry

    def checksum(self, path: str) -> str:
        path = normalize_path(path)
        response = self._request("HEAD", path, headers={"Want-Digest": "adler32"})
        self._check(response, path)
        for part in response.headers.get("Digest", "").split(","):
            name, _, value = part.strip().partition("=")
            if name.lower() == "adler32" and value:
                return str(value).lower().zfill(8)
        if self.stat(path).is_dir:
            raise StorageIsDirectory("is a directory", path=path)
        return self._read(path, None)

    def _read(self, path: str, local: Path | None) -> str:
        value = 1
        with self._client.stream("GET", self.url(path)) as response:
            self._check(response, path)
            out = local.open("wb") if local is not None else None
            try:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    value = zlib.adler32(chunk, value)
                    if out is not None:
                        out.write(chunk)
            finally:
                if out is not None:
                    out.close()
        return adler32_hex(value)

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            return
        response = self._request("MKCOL", path)
        if response.status_code == 409:  # parent missing
            self.mkdir(path.rsplit("/", 1)[0] or "/")
            response = self._request("MKCOL", path)
        if response.status_code in (405, 301):  # something exists there
            if not self.stat(path).is_dir:
                raise StorageExists("a file is in the way", path=path)
            return
        self._check(response, path)

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            raise StorageUnsupported("cannot delete the root", path=path)
        if self.stat(path).is_dir:
            for _ in self._propfind(path, "1"):
                raise StorageDirectoryNotEmpty("directory not empty", path=path)
        self._check(self._request("DELETE", path), path)

    def _mismatch(self, path: str, actual: str, expected: str) -> ChecksumMismatch:
        message = f"adler32 {actual} != expected {expected}"
        return ChecksumMismatch(message, path=path, expected=expected, actual=actual)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        path = normalize_path(path)
        if not local.is_file():
            raise StorageNotFound("no such local file", path=str(local))
        if not overwrite:
            try:
                self.stat(path)
            except StorageNotFound:
                pass
            else:
                raise StorageExists("file exists", path=path)
        self.mkdir(path.rsplit("/", 1)[0] or "/")
        sent = [1]

        def body() -> Iterator[bytes]:
            with local.open("rb") as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    sent[0] = zlib.adler32(chunk, sent[0])
                    yield chunk

        headers = {"Content-Length": str(local.stat().st_size)}
        temporary = part_name(path)  # a PUT that breaks off leaves no file under ``path``
        try:
            self._check(self._request("PUT", temporary, content=body(), headers=headers), path)
            if checksum is not None:
                actual = self.checksum(temporary)
                if adler32_hex(sent[0]) != checksum.lower() or actual != checksum.lower():
                    raise self._mismatch(path, actual, checksum)
            move = {"Destination": self.url(path), "Overwrite": "T"}
            self._check(self._request("MOVE", temporary, headers=move), path)
        except BaseException:
            with contextlib.suppress(StorageError):
                self._request("DELETE", temporary)
            raise
        return self.stat(path)

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        path = normalize_path(path)
        if self.stat(path).is_dir:
            raise StorageIsDirectory("is a directory", path=path)
        actual = self._read(path, local)
        if checksum is not None and actual != checksum.lower():
            local.unlink(missing_ok=True)
            raise self._mismatch(path, actual, checksum)

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        raise StorageUnsupported("HTTP third-party copy is not implemented", path=path)

    def request_stage(self, paths: Iterable[str]) -> str:
        return self._staging.request(paths)

    def poll_stage(self, request_id: str) -> StageStatus:
        return self._staging.poll(request_id)
