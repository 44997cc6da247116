"""The HTTPS side of the FTS3 test double: TLS with client certificates, routes, JSON."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Collection, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

import pki
from dynamo.api.auth.dn import dn_of_name, owner_dn
from dynamo.api.auth.tls import ALLOW_PROXY_CERTS, peer_chain
from dynamo.storage import StorageBackend
from fts3_server.jobs import Job, JobRunner

__all__ = ["Fts3TestServer"]

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _TlsHttpServer(ThreadingHTTPServer):
    """Accepts plain TCP and does the TLS handshake in the connection's own thread, so a
    client that fails it never blocks the accept loop."""

    daemon_threads = False  # server_close joins the connection threads
    context: ssl.SSLContext
    double: Fts3TestServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a refused certificate: the client sees the failed handshake
        try:
            tls.settimeout(30)
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-request is no test failure


class _Handler(BaseHTTPRequestHandler):
    server: _TlsHttpServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        try:
            user, dns = self._identity()
            status, body = self.server.double.route(method, self.path, self._body(), user, dns)
        except _HttpError as exc:
            status = exc.status
            body = {"status": f"{status} {_REASONS.get(status, '')}".strip(), "message": str(exc)}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        try:
            return json.loads(self.rfile.read(length))
        except ValueError as exc:
            raise _HttpError(400, f"Badly formatted JSON request ({exc})") from exc

    def _identity(self) -> tuple[str, list[str]]:
        assert isinstance(self.connection, ssl.SSLSocket)
        chain = [x509.load_der_x509_certificate(der) for der in peer_chain(self.connection)]
        if not chain:
            raise _HttpError(403, "No client certificate: FTS3 needs an x509 credential")
        user = owner_dn(chain)
        dns = [user] + [dn for dn in (dn_of_name(chain[0].subject),) if dn != user]
        allowed = self.server.double.authorized_dns
        if allowed is not None and user not in allowed:
            raise _HttpError(403, f"User {user} is not authorized on this server")
        return user, dns


class Fts3TestServer:
    """The FTS3 test double on ``https://127.0.0.1:<free port>`` (see the package docstring).

    ``storages`` serve the URLs of the jobs; ``grid`` gives the host certificate and the CA
    directory that client certificates must verify against; ``authorized_dns`` (all verified
    users when None) are the DNs allowed in. ``runner.paused`` holds every job where it is.
    """

    def __init__(
        self,
        storages: Iterable[StorageBackend],
        grid: pki.Pki,
        *,
        authorized_dns: Collection[str] | None = None,
        vo: str = "dteam",
        step: float = 0.02,
    ) -> None:
        self.runner = JobRunner(storages, step=step)
        self.authorized_dns = authorized_dns
        self.vo = vo
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(grid.host.cert_path, grid.host.key_path)
        context.load_verify_locations(capath=str(grid.ca_dir))
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= ALLOW_PROXY_CERTS
        self._server = _TlsHttpServer(("127.0.0.1", 0), _Handler, bind_and_activate=True)
        self._server.context = context
        self._server.double = self
        self.port: int = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Fts3TestServer:
        self.runner.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving, join every thread and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=30)
        self._server.server_close()
        self.runner.stop()

    def job(self, job_id: str) -> Job:
        """The server's own record of a job (for assertions)."""
        with self.runner.lock:
            return self.runner.jobs[job_id]

    # -- routes -----------------------------------------------------------------------------

    def route(
        self, method: str, target: str, body: Any, user: str, dns: list[str]
    ) -> tuple[int, Any]:
        split = urlsplit(target)
        parts = [p for p in split.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if method == "GET" and parts == ["whoami"]:
            return 200, self._whoami(user, dns)
        if parts[:1] != ["jobs"]:
            raise _HttpError(404, f"No route for {method} {split.path}")
        if method == "POST" and len(parts) == 1:
            return 200, {"job_id": self._submit(body, user).job_id}
        if method == "GET" and len(parts) == 1:
            return 200, self._list(query)
        with self.runner.lock:
            job = self._find(parts[1])
            if method == "GET" and len(parts) == 2:
                fields = query.get("files")
                selected = None if fields is None else [f for f in fields.split(",") if f]
                return 200, job.to_json(selected)
            if method == "GET" and parts[2:] == ["files"]:
                return 200, job.to_json([])["files"]
            if method == "GET" and parts[2:] == ["dm"]:
                return 200, job.dm_json()
            if method == "DELETE" and len(parts) == 2:
                job.cancel()
                return 200, job.to_json()
            if method == "DELETE" and len(parts) == 4 and parts[2] == "files":
                ids = [int(i) for i in parts[3].split(",") if i.isdigit()]
                job.cancel(ids)
                states = [f.state for f in job.files if f.file_id in ids]
                return 200, states[0] if len(states) == 1 else states
        raise _HttpError(404, f"No route for {method} {split.path}")

    def _whoami(self, user: str, dns: list[str]) -> dict[str, Any]:
        return {
            "delegation_id": f"{abs(hash(user)):016x}"[:16],
            "dn": dns,
            "level": {"*": "all"},
            "roles": [],
            "user_dn": user,
            "voms_cred": [],
            "vos": [self.vo],
        }

    def _find(self, job_id: str) -> Job:
        job = self.runner.jobs.get(job_id)
        if job is None:
            raise _HttpError(404, f"No job with the id {job_id} has been found")
        return job

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        states = {s for s in query.get("state_in", "").split(",") if s}
        with self.runner.lock:
            return [
                job.to_json()
                for job in self.runner.jobs.values()
                if (not states or job.state in states)
                and query.get("user_dn", job.user_dn) == job.user_dn
                and query.get("vo_name", job.vo_name) == job.vo_name
            ]

    def _submit(self, body: Any, user: str) -> Job:
        if not isinstance(body, dict):
            raise _HttpError(400, "The submission must be a JSON object")
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise _HttpError(400, "params must be an object")
        if body.get("files"):
            files = [_transfer_file(entry) for entry in body["files"]]
            return self.runner.add("transfer", files, params, user, self.vo)
        if body.get("delete"):
            files = [_deletion_file(entry) for entry in body["delete"]]
            return self.runner.add("delete", files, params, user, self.vo)
        raise _HttpError(400, "No transfers or namespace operations specified")


def _transfer_file(entry: Any) -> tuple[str | None, str | None, Any, str | None, int | None]:
    if not isinstance(entry, dict):
        raise _HttpError(400, "A file must be an object")
    sources, destinations = entry.get("sources"), entry.get("destinations")
    if not sources or not destinations:
        raise _HttpError(400, "Missing sources or destinations")
    if len(sources) != 1 or len(destinations) != 1:
        raise _HttpError(400, "This test double takes one source and one destination per file")
    size = entry.get("filesize")
    return sources[0], destinations[0], entry.get("metadata"), entry.get("checksum"), size


def _deletion_file(entry: Any) -> tuple[str | None, str | None, Any, str | None, int | None]:
    if isinstance(entry, str):
        return entry, None, None, None, None
    if isinstance(entry, dict) and entry.get("surl"):
        return str(entry["surl"]), None, entry.get("metadata"), None, None
    raise _HttpError(400, "A deletion entry is a URL or an object with a surl")
