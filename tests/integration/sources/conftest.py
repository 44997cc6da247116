"""A JSON-over-HTTP source on a loopback port (http.server in a thread), its state, and a
migrated database with the CMS partitions (SQLite; a test parametrizes ``backend`` with
``postgresql`` or ``mysql`` for a fresh database on those servers): the world of the sync
tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from dynamo.cli.main import app
from dynamo.model import ChangeSet
from dynamo.policy import load_partitions, partition_compiler
from dynamo.store import SqlInventoryStore, migrate
from unit.policy.builders import PARTITIONS, POLICIES

DatabaseUrlFactory = Callable[[str], str]  # the fixture of tests/conftest.py
NAMES = (
    (Path(__file__).parents[3] / "src/dynamo/bench/data/dynamo_policies/dataset_names.txt")
    .read_text()
    .split()[:4]
)
SITES = ("T2_US_MIT", "T2_CH_CERN", "T1_US_FNAL_Disk")
GB = 10**9
AS_OF = 1_700_000_000
DAY0 = AS_OF - AS_OF % 86_400
JDOE = "/DC=ch/DC=cern/OU=Users/CN=jdoe"


def dataset(name: str, index: int) -> dict[str, Any]:
    blocks = [
        {
            "name": f"{index:08x}-b6c9-11e2-809b-{block:012x}",
            "size": 2 * GB,
            "num_files": 4,
            "last_update": AS_OF - 400 * 86_400,
            "files": [
                {"lfn": f"/store/data/{index}/{block}/{f}.root", "size": GB // 2} for f in range(4)
            ],
        }
        for block in range(2)
    ]
    return {
        "name": name,
        "data_type": "DATA",
        "last_update": AS_OF - 400 * 86_400,
        "blocks": blocks,
    }


def replica(name: str, site: str) -> dict[str, Any]:
    return {"dataset": name, "site": site, "group": "AnalysisOps"}


class Upstream:
    """The source's state and what it was asked."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {
            "version": 1,
            "as_of": AS_OF,
            "sites": [
                {"name": site, "quotas": {"AnalysisOps": 10 * GB, "DataOpsDisk": 0}}
                for site in SITES
            ],
            "groups": [{"name": "AnalysisOps"}, {"name": "DataOps"}],
            "datasets": [dataset(name, i) for i, name in enumerate(NAMES[:3])],
            "replicas": [
                replica(NAMES[0], "T2_US_MIT"),
                replica(NAMES[0], "T2_CH_CERN"),
                replica(NAMES[1], "T2_US_MIT"),
                replica(NAMES[2], "T1_US_FNAL_Disk"),
            ],
            "popularity": [
                {"dataset": NAMES[0], "site": "T2_US_MIT", "day": DAY0, "accesses": 7},
                {"dataset": NAMES[1], "site": "T2_US_MIT", "day": DAY0, "accesses": 3},
            ],
            "users": [
                {"name": "jdoe", "dn": JDOE, "roles": [["operator", "inventory"]]},
                {"name": "rroe", "dn": "/DC=ch/DC=cern/CN=rroe", "roles": []},
            ],
            "demand": [
                {"dataset": NAMES[1], "jobs": 30, "queued": AS_OF - 3600},
                {"dataset": "/Not/Known/AOD", "jobs": 5, "queued": AS_OF - 3600},
            ],
        }
        self.requests: list[str] = []

    def answer(self, path: str) -> dict[str, Any] | None:
        url = urlparse(path)
        self.requests.append(path)
        section = url.path.rsplit("/", 1)[-1]
        if section not in self.doc:
            return None
        out = {"version": 1, "as_of": self.doc["as_of"], section: self.doc[section]}
        if "since" in parse_qs(url.query) and "deleted" in self.doc:
            out["deleted"] = self.doc["deleted"]
        return out


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    state = Upstream()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.answer(self.path)
            if body is None:
                self.send_error(404)
                return
            blob = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def backend() -> str:
    """The database backend of ``db``; parametrize it to run a test on another."""
    return "sqlite"


@pytest.fixture
def db(backend: str, database_url_factory: DatabaseUrlFactory) -> str:
    return prepare_database(database_url_factory(backend))


def prepare_database(url: str) -> str:
    """Migrate the empty database ``url`` and define the CMS partitions in it; ``url``."""
    migrate(url)
    store = SqlInventoryStore.open(url)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        partitions = load_partitions(PARTITIONS.read_text(), file=str(PARTITIONS))
        # the model does not accept names with spaces yet: CMS's "IB RelVal" is left out
        ops = [op for op in partitions.ops if " " not in op.name]  # type: ignore[attr-defined]
        store.commit(ChangeSet.of(ops), inventory)
    finally:
        store.close()
    return url


def detox_dry_run(db: str, *extra: str) -> dict[str, Any]:
    """``dynamo detox run --dry-run --json`` with the real Physics policy on ``db``; the cycle."""
    physics = str(POLICIES / "detox" / "Physics.txt")
    command = ["detox", "run", "--db", db, "--partition", "Physics", "--policy", physics]
    done = CliRunner().invoke(app, [*command, "--dry-run", "--json", *extra])
    assert done.exit_code == 0, done.output
    cycle: dict[str, Any] = json.loads(done.stdout)
    return cycle
