"""No secret in logs: a real `dynamo server` and a file-operations worker configured with
secrets, driven through their error paths, never print them, and no API answer shows them.

The secrets: the password of a PostgreSQL role made for the test (in the database URL of the
configuration file and of the worker's command line), S3, Rucio and FTS3 credentials in the
environment, a bearer token, a cookie and a query-string token sent by clients, a password in
request bodies that are refused, the password of a source URL given to an application run. The
error paths: refused bodies (400), a write by an unknown
DN (403), the DN header from the trusted front end, the database cut off under the server and
the worker (TCP proxy: 503 answers, readiness failures, retries), and `dynamo` commands given
a database URL that cannot be parsed or reached, and application runs (forked children of the
server) that fail with a traceback: a sync from an unreachable source whose URL carries a
password, and one from an unreachable Rucio server (the Rucio credentials in the environment).
Every log line, every answer (body and headers; the runs' logs are read through the API) and
every command output is then searched for every secret.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cluster import HEADER, WRITER_DN, prepare_database, wait_until
from sqlalchemy import create_engine, make_url, text

from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.store import SqlInventoryStore
from faults import TcpProxy
from integration.api.tls_servers import free_port, running_server

TAG = uuid.uuid4().hex[:10]
SECRETS = {
    "database password": f"DbPw-{TAG}-x",
    "AWS secret key": f"AwsSecret{TAG}",
    "AWS access key": f"AKIA{TAG.upper()}",
    "Rucio token": f"root-rucio-{TAG}-token",
    "Rucio password": f"RucioPw{TAG}",
    "FTS3 token": f"fts3-{TAG}-bearer",
    "bearer token": f"eyJhbGciOiJIUzI1NiJ9.{TAG}.sig",
    "cookie": f"session-{TAG}-cookie",
    "query token": f"qtok{TAG}",
    "body password": f"BodyPw-{TAG}",
    "source password": f"SrcPw-{TAG}",
}
ENVIRONMENT = {
    "AWS_SECRET_ACCESS_KEY": SECRETS["AWS secret key"],
    "AWS_ACCESS_KEY_ID": SECRETS["AWS access key"],
    "DYNAMO_RUCIO_TOKEN": SECRETS["Rucio token"],
    "DYNAMO_RUCIO_PASSWORD": SECRETS["Rucio password"],
    "FTS3_TOKEN": SECRETS["FTS3 token"],
}
DYNAMO = (sys.executable, "-m", "dynamo.cli.main")
POSTGRESQL = os.environ.get(
    "DYNAMO_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
"""The PostgreSQL server (as in tests/conftest.py): trust authentication, so the role's
password is carried and never checked; what matters here is where it could be printed."""
CLIENT_HEADERS = {
    "Authorization": f"Bearer {SECRETS['bearer token']}",
    "Cookie": f"session={SECRETS['cookie']}; theme=dark",
}


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database owned by a role with a password (URL without the proxy)."""
    admin = create_engine(make_url(POSTGRESQL), isolation_level="AUTOCOMMIT")
    role, name = f"dynamo_secret_{TAG}", f"dynamo_secret_{TAG}"
    password = SECRETS["database password"]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {role}"))
    server = make_url(POSTGRESQL)
    url = server.set(username=role, password=password, database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


class Exchanges:
    """Every answer seen, as text: status line, headers and body."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.seen: list[str] = []

    def __call__(self, method: str, path: str, **options: object) -> httpx.Response:
        headers = {**CLIENT_HEADERS, **dict(options.pop("headers", {}) or {})}  # type: ignore[call-overload]
        answer = httpx.request(method, self.base + path, headers=headers, timeout=30, **options)  # type: ignore[arg-type]
        self.seen.append(f"{answer.status_code} {dict(answer.headers)} {answer.text}")
        return answer


def _dynamo(*args: str) -> str:
    done = subprocess.run(
        [*DYNAMO, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0, done.stdout
    return done.stdout + done.stderr


def _drive(call: Exchanges) -> None:
    writer = {HEADER: WRITER_DN}
    body_password = SECRETS["body password"]
    assert call("GET", "/api/v1/whoami", headers=writer).json()["user"] == "writer"
    query = f"/api/v1/datasets?access_token={SECRETS['query token']}&limit=5"
    assert call("GET", query).status_code in (200, 400)
    refused = [
        call("POST", "/api/v1/inject", headers=writer, json={"password": body_password}),
        call(
            "POST",
            "/api/v1/inject",
            headers={**writer, "Content-Type": "application/json"},
            content=f'{{"datasets": [{{"name": "/A/B/C", "password": "{body_password}"'.encode(),
        ),
        call("POST", "/api/v1/inject", headers={HEADER: "/CN=stranger"}, json={}),
        call("POST", "/api/v1/userdata/files", json={"password": body_password}),
    ]
    statuses = [answer.status_code for answer in refused]
    assert statuses == [400, 400, 403, 401], [answer.text for answer in refused]
    dataset = {"datasets": [{"name": f"/Secret/Test-{TAG}/RAW", "data_type": "data"}]}
    assert call("POST", "/api/v1/inject", headers=writer, json=dataset).status_code == 200


def test_no_secret_reaches_a_log_an_answer_or_an_error_message(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    real = make_url(database)
    outputs: list[str] = []
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        prepare_database(url)
        _may_run_applications(url)
        config = tmp_path / "server.toml"
        config.write_text(
            f'[server]\ndb = "{url}"\nallow_http = true\ntrusted_dn_header = "{HEADER}"\n'
            'trusted_front_ends = ["127.0.0.1"]\n'
        )
        server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
        with (
            running_server(["--config", str(config)], server_log) as port,
            worker_log.open("wb") as worker_out,
        ):
            worker = subprocess.Popen(
                [*DYNAMO, "fileops", "worker", "--poll-interval", "0.2", "--db", url],
                stdout=worker_out,
                stderr=subprocess.STDOUT,
            )
            try:
                call = Exchanges(f"http://127.0.0.1:{port}")
                wait_until("the server to lead", _leading(call), timeout=60)
                _drive(call)
                run_logs = _failing_application_runs(call)
                proxy.cut()
                _during_the_outage(call, worker_log)
                proxy.restore()
                # it still believes it leads until a heartbeat finds the lease's session gone
                wait_until("a new term", _leading_again(call, server_log), timeout=60)
                _drive(call)
            finally:
                worker.send_signal(signal.SIGINT)
                worker.wait(timeout=60)
        unparseable = real.set(port=1).render_as_string(hide_password=False)
        outputs.append(_dynamo("server", "--allow-http", "--db", unparseable.replace(":1/", ":x/")))
        outputs.append(_dynamo("db", "status", "--db", unparseable))
    assert "error[configuration]: cannot parse database URL" in outputs[0], outputs[0]
    assert "error[store]" in outputs[1], outputs[1]
    logs = {"server log": server_log.read_text(), "worker log": worker_log.read_text()}
    assert "503" in logs["server log"], "the outage was not seen by the server"
    logs["application-run logs"] = "\n".join(run_logs)
    places = {**logs, "API answers": "\n".join(call.seen), "command output": "\n".join(outputs)}
    leaks = [
        f"the {secret} in the {place}"
        for place, content in places.items()
        for secret, value in SECRETS.items()
        if value in content
    ]
    assert leaks == [], leaks


def _may_run_applications(url: str) -> None:
    store = SqlInventoryStore.open(url)
    try:
        SqlUserDirectory(store.engine).grant("writer", Role.OPERATOR, Target.APPLICATION)
    finally:
        store.close()


def _failing_application_runs(call: Exchanges) -> list[str]:
    """Sync runs that fail in the forked child with a traceback; their logs read through the
    API (text and JSON) and the overview page that lists them."""
    writer = {HEADER: WRITER_DN}
    logs = []
    closed = free_port()  # nothing listens there
    sources = [
        f"http://dynamo:{SECRETS['source password']}@127.0.0.1:{closed}/inventory",
        f"rucio+http://127.0.0.1:{closed}",
    ]
    for source in sources:
        body = {"args": {"source": source}, "mode": "read"}
        submitted = call("POST", "/api/v1/applications/sync/runs", headers=writer, json=body)
        assert submitted.status_code == 201, submitted.text
        run = f"/api/v1/applications/runs/{submitted.json()['id']}"
        deadline = time.monotonic() + 60
        while (status := call("GET", run).json()["status"]) in ("queued", "running"):
            assert time.monotonic() < deadline, "the run never ended"
            time.sleep(0.1)
        assert status == "failed", status
        log = call("GET", f"{run}/log").text
        assert "Traceback" in log, log
        assert "SourceError" in log, log
        assert call("GET", f"{run}/log", params={"format": "json"}).json()["text"] == log
        logs.append(log)
    assert call("GET", "/").status_code == 200
    return logs


def _during_the_outage(call: Exchanges, worker_log: Path) -> None:
    writer = {HEADER: WRITER_DN}
    deadline = time.monotonic() + 30
    while call("GET", "/readyz").status_code != 503:
        assert time.monotonic() < deadline, "the server never noticed the outage"
        time.sleep(0.1)
    dataset = {"datasets": [{"name": f"/Secret/Outage-{TAG}/RAW", "data_type": "data"}]}
    statuses = {call("POST", "/api/v1/inject", headers=writer, json=dataset).status_code}
    call("GET", "/api/v1/whoami", headers=writer)
    while "the database failed" not in worker_log.read_text():  # the worker meets it too
        assert time.monotonic() < deadline + 60, "the worker never noticed the outage"
        time.sleep(0.2)
    assert statuses & {503}, statuses


def _leading_again(call: Exchanges, server_log: Path) -> Callable[[], bool]:
    """Leading in a term begun after the outage (the log says so), not in the cut one."""
    leading = _leading(call)

    def again() -> bool:
        return server_log.read_text().count(" leads at epoch ") >= 2 and leading()

    return again


def _leading(call: Exchanges) -> Callable[[], bool]:
    def leading() -> bool:
        servers = call("GET", "/api/v1/servers").json()["servers"]
        return bool(next(s["role"] for s in servers if s["is_self"]) == "leader")

    return leading
