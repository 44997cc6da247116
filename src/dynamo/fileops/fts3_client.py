"""Fts3Client: the part of the FTS3 REST API Dynamo uses, over HTTPS with x509 credentials.

Requests and answers have the JSON shapes of fts-rest (``tests/fixtures/fts-rest``):

=========================================  ==============================================
``GET /whoami``                            the caller's DN(s), VOs and delegation id
``POST /jobs``                             submit a job (``files`` or ``delete``); ``job_id``
``GET /jobs/{id}?files=f1,f2``             the job with its files (those fields only)
``GET /jobs/{id}/files``                   the files of a transfer job
``GET /jobs/{id}/dm``                      the files of a deletion job
``DELETE /jobs/{id}``                      cancel the job
``DELETE /jobs/{id}/files/{fid,fid}``      cancel some files of the job
``GET /jobs?state_in=S1,S2&user_dn=DN``    list jobs
=========================================  ==============================================

Credentials are the user's: a certificate and its key, or an RFC 3820 proxy file that holds
both; the server is verified against a CA file or a hashed CA directory (``X509_CERT_DIR``).

Errors (all :class:`Fts3Error`, a :class:`~dynamo.errors.DynamoError`)::

    Fts3Error (RuntimeError)                     retryable = False
     +-- Fts3HttpError                           FTS3 answered 4xx/5xx: .status, .message
     |    +-- Fts3AuthError (PermissionError)    401/403: these credentials are not accepted
     +-- Fts3ConnectionError (ConnectionError)   unreachable, timed out: retryable
     +-- Fts3TlsError                            the TLS handshake failed (bad certificate)

An ``Fts3HttpError`` with a 5xx, 408 or 429 status is retryable. A ``transport`` (such as
``httpx.MockTransport``) replaces the network for tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx

from dynamo.errors import ConfigurationError, DynamoError

__all__ = [
    "ALLOW_PROXY_CERTS",
    "FILE_FIELDS",
    "Fts3AuthError",
    "Fts3Client",
    "Fts3ConnectionError",
    "Fts3Error",
    "Fts3File",
    "Fts3HttpError",
    "Fts3Identity",
    "Fts3Job",
    "Fts3TlsError",
    "parse_file",
    "parse_job",
    "parse_time",
]

ALLOW_PROXY_CERTS: Final = 0x40
"""OpenSSL's X509_V_FLAG_ALLOW_PROXY_CERTS (not exported by Python's ssl module)."""

FILE_FIELDS: Final = (
    "file_id",
    "file_index",
    "file_state",
    "reason",
    "file_metadata",
    "source_surl",
    "dest_surl",
    "start_time",
    "finish_time",
)
"""The file fields :meth:`Fts3Client.job` asks for."""


class Fts3Error(DynamoError, RuntimeError):
    """An FTS3 request failed; ``retryable`` says whether trying later can help."""

    code = "fts3"
    retryable = False


class Fts3HttpError(Fts3Error):
    """FTS3 answered with an error status; ``message`` is its explanation."""

    code = "fts3_http"

    def __init__(self, status: int, message: str, *, url: str = "") -> None:
        super().__init__(f"FTS3 answered {status} for {url}: {message}" if url else message)
        self.status = status
        self.message = message
        self.retryable = status >= 500 or status in (408, 429)


class Fts3AuthError(Fts3HttpError, PermissionError):
    """FTS3 does not accept these credentials (401, 403)."""

    code = "fts3_auth"


class Fts3ConnectionError(Fts3Error, ConnectionError):
    """FTS3 could not be reached, or did not answer in time."""

    code = "fts3_connection"
    retryable = True


class Fts3TlsError(Fts3Error):
    """The TLS handshake failed: a certificate was refused (ours or the server's)."""

    code = "fts3_tls"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fts3Identity:
    """What ``GET /whoami`` says about the caller."""

    user_dn: str
    dns: tuple[str, ...]
    vos: tuple[str, ...]
    delegation_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fts3File:
    """One file of a job (a transfer or a deletion). Times are epoch seconds."""

    file_id: int
    state: str
    file_index: int | None = None
    reason: str = ""
    metadata: Any = None
    source_surl: str | None = None
    dest_surl: str | None = None
    start_time: int | None = None
    finish_time: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fts3Job:
    """One job; ``files`` is empty unless they were asked for."""

    job_id: str
    state: str
    reason: str = ""
    metadata: Any = None
    user_dn: str | None = None
    submit_time: int | None = None
    finish_time: int | None = None
    files: tuple[Fts3File, ...] = ()


def parse_time(value: Any) -> int | None:
    """An FTS3 time (``2013-03-22T13:37:33``, UTC without a zone) as epoch seconds."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None


def parse_file(data: Mapping[str, Any]) -> Fts3File:
    """A file entry of ``/jobs/{id}`` (``files``), ``/jobs/{id}/files`` or ``/jobs/{id}/dm``."""
    file_id = _int(data.get("file_id"))
    if file_id is None:
        raise Fts3Error(f"FTS3 file entry without a file_id: {dict(data)!r}")
    return Fts3File(
        file_id=file_id,
        state=str(data.get("file_state") or ""),
        file_index=_int(data.get("file_index")),
        reason=str(data.get("reason") or ""),
        metadata=data.get("file_metadata"),
        source_surl=data.get("source_surl"),
        dest_surl=data.get("dest_surl"),
        start_time=parse_time(data.get("start_time")),
        finish_time=parse_time(data.get("finish_time")),
    )


def parse_job(data: Mapping[str, Any]) -> Fts3Job:
    """A job of ``/jobs/{id}`` or of the ``/jobs`` list."""
    if not data.get("job_id") or not data.get("job_state"):
        raise Fts3Error(f"FTS3 job without job_id or job_state: {sorted(data)!r}")
    files = data.get("files") or ()
    return Fts3Job(
        job_id=str(data["job_id"]),
        state=str(data["job_state"]),
        reason=str(data.get("reason") or ""),
        metadata=data.get("job_metadata"),
        user_dn=data.get("user_dn"),
        submit_time=parse_time(data.get("submit_time")),
        finish_time=parse_time(data.get("job_finished") or data.get("finish_time")),
        files=tuple(parse_file(entry) for entry in files),
    )


def client_ssl_context(
    *,
    cert: str | Path | None,
    key: str | Path | None = None,
    ca_dir: str | Path | None = None,
    ca_file: str | Path | None = None,
) -> ssl.SSLContext:
    """A client context presenting ``cert`` (with ``key``, or a proxy holding both) and
    trusting the CAs of ``ca_file``/``ca_dir`` (the system CAs when both are None)."""
    try:
        context = ssl.create_default_context(
            cafile=str(ca_file) if ca_file else None, capath=str(ca_dir) if ca_dir else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot read the CA certificates: {exc}") from exc
    if cert is not None:
        try:
            context.load_cert_chain(str(cert), str(key) if key else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot use the client certificate {cert}: {exc}") from exc
    context.verify_flags |= ALLOW_PROXY_CERTS
    return context


class Fts3Client:
    """One FTS3 REST endpoint, e.g. ``Fts3Client("https://fts3.cern.ch:8446", cert=proxy)``."""

    def __init__(
        self,
        endpoint: str,
        *,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        ca_dir: str | Path | None = None,
        ca_file: str | Path | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        if transport is not None:
            self._client = httpx.Client(timeout=timeout, transport=transport)
        else:
            context = client_ssl_context(cert=cert, key=key, ca_dir=ca_dir, ca_file=ca_file)
            self._client = httpx.Client(timeout=timeout, verify=context)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Fts3Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def whoami(self) -> Fts3Identity:
        """``GET /whoami``."""
        data = self._request("GET", "/whoami")
        return Fts3Identity(
            user_dn=str(data.get("user_dn") or ""),
            dns=tuple(data.get("dn") or ()),
            vos=tuple(data.get("vos") or ()),
            delegation_id=data.get("delegation_id"),
        )

    def submit(self, request: Mapping[str, Any]) -> str:
        """``POST /jobs`` with a submission body; returns the new job id."""
        data = self._request("POST", "/jobs", json=request)
        job_id = data.get("job_id") if isinstance(data, Mapping) else None
        if not job_id:
            raise Fts3Error(f"FTS3 accepted the job but returned no job_id: {data!r}")
        return str(job_id)

    def job(self, job_id: str, *, files: Sequence[str] = FILE_FIELDS) -> Fts3Job:
        """``GET /jobs/{id}?files=...``: the job with these fields of its files."""
        params = {"files": ",".join(files)} if files else None
        return parse_job(self._request("GET", f"/jobs/{quote(job_id)}", params=params))

    def job_files(self, job_id: str) -> list[Fts3File]:
        """``GET /jobs/{id}/files``: the files of a transfer job."""
        return [parse_file(entry) for entry in self._request("GET", f"/jobs/{quote(job_id)}/files")]

    def deletion_files(self, job_id: str) -> list[Fts3File]:
        """``GET /jobs/{id}/dm``: the files of a deletion job."""
        return [parse_file(entry) for entry in self._request("GET", f"/jobs/{quote(job_id)}/dm")]

    def cancel(self, job_id: str) -> Fts3Job:
        """``DELETE /jobs/{id}``: cancel the job; its unfinished files become CANCELED."""
        return parse_job(self._request("DELETE", f"/jobs/{quote(job_id)}"))

    def cancel_files(self, job_id: str, file_ids: Iterable[int]) -> None:
        """``DELETE /jobs/{id}/files/{ids}``: cancel these files of the job."""
        ids = ",".join(str(file_id) for file_id in file_ids)
        if ids:
            self._request("DELETE", f"/jobs/{quote(job_id)}/files/{ids}")

    def jobs(
        self, *, states: Iterable[str] = (), user_dn: str | None = None, vo: str | None = None
    ) -> list[Fts3Job]:
        """``GET /jobs``: the jobs in ``states`` (all when empty) of ``user_dn`` and ``vo``."""
        params: dict[str, str] = {}
        if wanted := ",".join(states):
            params["state_in"] = wanted
        if user_dn:
            params["user_dn"] = user_dn
        if vo:
            params["vo_name"] = vo
        return [parse_job(entry) for entry in self._request("GET", "/jobs", params=params)]

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.endpoint + path
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc):
                raise Fts3TlsError(f"TLS handshake with {self.endpoint} failed: {exc}") from exc
            raise Fts3ConnectionError(f"cannot reach FTS3 at {self.endpoint}: {exc}") from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if _is_tls_failure(exc):
                raise Fts3TlsError(f"TLS with {self.endpoint} failed: {exc}") from exc
            raise Fts3ConnectionError(f"FTS3 at {self.endpoint}: {exc}") from exc
        if response.status_code >= 400:
            message = _error_message(response)
            cls = Fts3AuthError if response.status_code in (401, 403) else Fts3HttpError
            raise cls(response.status_code, message, url=f"{method} {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise Fts3Error(f"FTS3 answered {method} {path} with no JSON: {exc}") from exc


def _is_tls_failure(exc: Exception) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    return any(word in text for word in ("ssl", "certificate", "tlsv1", "handshake"))


def _error_message(response: httpx.Response) -> str:
    """fts-rest's error body is ``{"status": "404 Not Found", "message": "..."}``."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(data, Mapping) and data.get("message"):
        return str(data["message"])
    return str(data)[:500]
