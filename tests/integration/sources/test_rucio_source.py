"""`dynamo sync run rucio+http://...` against a real Rucio server (PyPI ``rucio`` from the peer
benchmark's cached venv, on the local PostgreSQL), started and filled by the test.

The issue's acceptance, into SQLite, PostgreSQL and MariaDB: datasets and replicas at several
RSEs (with attributes, usage and limits) and accounts are imported; an incremental sync picks
up a new dataset, a new replica and a deleted one; a Detox dry run then works. Then what only
a full sync sees: a file attached to a dataset that existed already.
The Rucio venv is made on first use (tests/rucio_support.py); without it the test fails,
unless DYNAMO_TEST_SKIP_SERVERS=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dynamo.api.auth.directory import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.bench.peer.rucio_env import USERPASS, RucioPeer, recreate_database
from dynamo.cli.main import app
from dynamo.model import Inventory, SiteStatus, StorageType
from dynamo.policy import partition_compiler
from dynamo.sources import RucioSource, block_name_of
from dynamo.store import SqlInventoryStore, make_engine
from integration.sources.conftest import (
    AS_OF,
    DatabaseUrlFactory,
    detox_dry_run,
    prepare_database,
)
from rucio_support import rucio_python

RSES = ("T2_US_MIT", "T2_CH_CERN", "T1_US_FNAL_Disk")
JDOE_COMMA = "CN=John Doe,OU=Users,DC=cern,DC=ch"
JDOE = "/DC=ch/DC=cern/OU=Users/CN=John Doe"
BACKENDS = ("sqlite", "postgresql", "mysql")
FILES = [[1_000_000_000, "0000000a"], [2_000_000_000, "0000000b"]]
SPEC = {
    "sites": [{"name": name, "tier": int(name[1])} for name in RSES],
    "datasets": [
        {"index": 0, "files": FILES, "sites": ["T2_US_MIT", "T2_CH_CERN"]},
        {"index": 1, "files": FILES, "sites": ["T2_US_MIT"]},
        {"index": 2, "files": FILES, "sites": ["T2_US_MIT", "T1_US_FNAL_Disk"]},
    ],
}
runner = CliRunner()


GB, TB = 10**9, 10**12


@pytest.fixture(scope="module")
def rucio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RucioPeer, str]]:
    python = rucio_python()
    home = tmp_path_factory.mktemp("rucio")
    spec = home / "spec.json"
    spec.write_text(json.dumps(SPEC))
    database = f"rucio_sources_{os.getpid()}"  # never the peer benchmark's rucio_peer
    try:
        with RucioPeer(python, home, database=database) as peer:
            peer.run("bootstrap.py", str(spec), timeout=600)
            datasets = str(len(SPEC["datasets"]))  # register datasets [0, all)
            peer.run("register.py", str(spec), "100", "0", datasets, timeout=600)
            base = peer.serve(workers=1, threads=2)
            describe(base, {"X-Rucio-Auth-Token": peer.token()})
            yield peer, base
    finally:
        recreate_database(database, create=False)


def describe(base: str, headers: dict[str, str]) -> None:
    """RSE limits, usage and attributes, two more RSEs, an account with an X509 DN and local
    limits at two RSEs (one unlimited) and a global one, and ds_000001 closed (the others
    stay open)."""
    puts = [
        ("/rses/T2_US_MIT/limits", {"name": "MaxSpaceAvailable", "value": 2 * TB}),
        ("/rses/T2_US_MIT/limits", {"name": "MinFreeSpace", "value": TB // 2}),
        ("/rses/T2_CH_CERN/usage", {"source": "storage", "used": 300 * GB, "free": 700 * GB}),
        ("/dids/cms/ds_000001/status", {"open": False}),
    ]
    posts = [
        ("/rses/T1_US_FNAL_MSS", {"rse_type": "TAPE", "availability_write": False}),
        ("/rses/T2_XX_OLD", {}),
        ("/rses/T2_XX_OLD/attr/decommission", {"value": True}),
        ("/accounts/jdoe", {"type": "USER", "email": "jdoe@example.org"}),
        (
            "/accounts/jdoe/identities",
            {"identity": JDOE_COMMA, "authtype": "X509", "email": "jdoe@example.org"},
        ),
        ("/accounts/jdoe/limits/local/T2_US_MIT", {"bytes": 300 * GB}),
        ("/accounts/jdoe/limits/local/T2_CH_CERN", {"bytes": -1}),  # unlimited
        ("/accounts/jdoe/limits/global/tier=1", {"bytes": 5 * TB}),  # not mapped
    ]
    for method, calls in (("PUT", puts), ("POST", posts)):
        for path, body in calls:
            answer = httpx.request(method, base + path, headers=headers, json=body, timeout=60)
            assert answer.status_code in (200, 201), (path, answer.text)


def did(index: int) -> str:
    return f"cms:ds_{index:06d}"


def sync(base: str, db: str, *extra: str) -> dict[str, Any]:
    result = runner.invoke(
        app,
        ["sync", "run", f"rucio+{base}", "--db", db, "--group", "AnalysisOps", "--json", *extra],
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def load(db: str) -> Inventory:
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        return inventory
    finally:
        store.close()


def replicas(db: str) -> set[tuple[str, str]]:
    return {(r.dataset.name, r.site.name) for r in load(db).iter_dataset_replicas()}


def change_rucio(peer: RucioPeer, base: str) -> None:
    """A new dataset (ds_000009 at T2_CH_CERN), a new replica (ds_000001 at T1_US_FNAL_Disk),
    a partial one (one file of ds_000000 at T1_US_FNAL_Disk) and a deleted one (ds_000002 at
    T2_US_MIT)."""
    headers = {"X-Rucio-Auth-Token": peer.token()}
    new_files = [
        {"scope": "cms", "name": f"f_000009_{j:02d}", "bytes": size, "adler32": adler}
        for j, (size, adler) in enumerate(FILES)
    ]
    copies = [
        {"scope": "cms", "name": f"f_000001_{j:02d}", "bytes": size, "adler32": adler}
        for j, (size, adler) in enumerate(FILES)
    ]
    size, adler = FILES[0]
    partial = {"scope": "cms", "name": "f_000000_00", "bytes": size, "adler32": adler}
    calls = [
        ("/replicas", {"rse": "T2_CH_CERN", "files": new_files}),
        ("/dids/cms/ds_000009", {"type": "DATASET"}),
        (
            "/dids/cms/ds_000009/dids",
            {"dids": [{"scope": "cms", "name": f["name"]} for f in new_files]},
        ),
        ("/replicas", {"rse": "T1_US_FNAL_Disk", "files": copies}),
        ("/replicas", {"rse": "T1_US_FNAL_Disk", "files": [partial]}),
    ]
    for path, body in calls:
        answer = httpx.post(base + path, headers=headers, json=body, timeout=60)
        assert answer.status_code == 201, answer.text
    # Rucio's generic policy lets no account delete replicas over REST: the core API does
    code = (
        "from rucio.common.types import InternalScope\n"
        "from rucio.core.replica import delete_replicas\n"
        "from rucio.core.rse import get_rse_id\n"
        "delete_replicas(rse_id=get_rse_id('T2_US_MIT'), files=["
        "{'scope': InternalScope('cms'), 'name': 'f_000002_00'},"
        "{'scope': InternalScope('cms'), 'name': 'f_000002_01'}])\n"
    )
    subprocess.run([str(peer.python), "-c", code], env=peer.env, check=True, timeout=120)


IMPORTED = {
    (did(0), "T2_US_MIT"),
    (did(0), "T2_CH_CERN"),
    (did(1), "T2_US_MIT"),
    (did(2), "T2_US_MIT"),
    (did(2), "T1_US_FNAL_Disk"),
}
SYNCED = {
    (did(0), "T2_US_MIT"),
    (did(0), "T2_CH_CERN"),
    (did(0), "T1_US_FNAL_Disk"),  # 1 file of 2
    (did(1), "T2_US_MIT"),
    (did(1), "T1_US_FNAL_Disk"),
    (did(2), "T1_US_FNAL_Disk"),
    (did(9), "T2_CH_CERN"),
}


def check_import(db: str) -> None:
    """The sites (attributes, usage, limits), a dataset's files and the users of an import."""
    inventory = load(db)
    sites = inventory.sites
    analysis = inventory.partitions["AnalysisOps"]
    assert (sites["T2_US_MIT"].status, sites["T2_US_MIT"].storage_type) == (
        SiteStatus.READY,
        StorageType.DISK,
    )
    assert sites["T2_US_MIT"].host == "xrootd.t2_us_mit.example.org"
    assert sites["T2_US_MIT"].backend == "root://xrootd.t2_us_mit.example.org:1094/store/"
    # MaxSpaceAvailable - MinFreeSpace; the storage usage's total
    assert sites["T2_US_MIT"].partitions[analysis].quota == 2 * TB - TB // 2
    assert sites["T2_CH_CERN"].partitions[analysis].quota == 1000 * GB
    assert sites["T1_US_FNAL_Disk"].partitions[analysis].quota == 0  # no capacity: none set
    # jdoe's local limits; none at an RSE: 0 (Rucio lets jdoe place nothing there)
    data_ops = inventory.partitions["DataOpsDisk"]
    assert {name: site.partitions[data_ops].quota for name, site in sites.items()} == {
        "T2_US_MIT": 300 * GB,
        "T2_CH_CERN": -1,
        "T1_US_FNAL_Disk": 0,
        "T1_US_FNAL_MSS": 0,
        "T2_XX_OLD": 0,
    }
    assert (sites["T1_US_FNAL_MSS"].status, sites["T1_US_FNAL_MSS"].storage_type) == (
        SiteStatus.WAITROOM,
        StorageType.MSS,
    )
    assert sites["T2_XX_OLD"].status is SiteStatus.MORGUE
    assert [inventory.datasets[did(i)].is_open for i in range(3)] == [True, False, True]
    store = SqlInventoryStore.open(db)
    try:
        block = inventory.find_block(did(0), block_name_of(did(0)))
        assert block is not None
        assert (block.size, block.num_files) == (3_000_000_000, 2)
        assert [f.lfn for f in store.files_of(block)] == ["cms:f_000000_00", "cms:f_000000_01"]
        directory = SqlUserDirectory(store.engine, ttl=0)
        assert {u.name: u.dn for u in directory.list_users()}["jdoe"] == JDOE
        directory.grant("jdoe", Role.OPERATOR, Target.INVENTORY)  # Dynamo's own: kept
    finally:
        store.close()


def attach_file(base: str, headers: dict[str, str]) -> None:
    """A third file in ds_000009 (created open): what only a full sync sees; and jdoe's
    local limit at T2_US_MIT raised, which any sync sees."""
    extra = {"scope": "cms", "name": "f_000009_02", "bytes": 5, "adler32": "0000000c"}
    for path, body in [
        ("/replicas", {"rse": "T2_CH_CERN", "files": [extra]}),
        ("/dids/cms/ds_000009/dids", {"dids": [{"scope": "cms", "name": extra["name"]}]}),
        ("/accounts/jdoe/limits/local/T2_US_MIT", {"bytes": 400 * GB}),
    ]:
        answer = httpx.post(base + path, headers=headers, json=body, timeout=60)
        assert answer.status_code == 201, answer.text


def test_a_rucio_instance_is_imported_synced_and_cleaned_by_a_detox_dry_run(
    rucio: tuple[RucioPeer, str],
    database_url_factory: DatabaseUrlFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's acceptance, into SQLite, PostgreSQL and MariaDB at once."""
    peer, base = rucio
    account, user, password = USERPASS
    monkeypatch.setenv("DYNAMO_RUCIO_ACCOUNT", account)
    monkeypatch.setenv("DYNAMO_RUCIO_USERNAME", user)
    monkeypatch.setenv("DYNAMO_RUCIO_PASSWORD", password)
    monkeypatch.setenv("DYNAMO_RUCIO_SCOPES", "cms")
    monkeypatch.setenv("DYNAMO_RUCIO_QUOTA_PARTITION", "AnalysisOps")
    monkeypatch.setenv("DYNAMO_RUCIO_ACCOUNT_QUOTAS", "DataOpsDisk=jdoe")
    dbs = {backend: prepare_database(database_url_factory(backend)) for backend in BACKENDS}

    for db in dbs.values():
        command = ["import", "rucio", base, "--db", db, "--scope", "cms", "--json"]
        quotas = ["--quota-partition", "AnalysisOps", "--account-quota", "DataOpsDisk=jdoe"]
        imported = runner.invoke(app, [*command, *quotas])
        assert imported.exit_code == 0, imported.output
        first = json.loads(imported.stdout)
        assert first["conflicts"] == []
        assert first["counts"]["upsert_dataset"] == 3
        assert first["counts"]["upsert_site"] == 5
        assert first["users"]["added"] == 2  # jdoe and root (its X509 DN)
        assert replicas(db) == IMPORTED
        check_import(db)

    since = int(time.time()) - 1  # Rucio runs on this machine's clock
    change_rucio(peer, base)
    asked: list[tuple[str, bool]] = []  # each request's path, whether it asks resolve_parents

    def note(request: httpx.Request) -> None:
        asked.append((request.url.path, b"resolve_parents" in request.content))

    def counted() -> RucioSource:
        client = httpx.Client(timeout=60, event_hooks={"request": [note]})
        return RucioSource(base, scopes=("cms",), username=user, password=password, client=client)

    login, search, bulk = "/auth/userpass", "/dids/cms/dids/search", "/replicas/list"
    source = counted()
    try:
        catalog = source.catalog(since)  # the cheap read: only what was created since
        assert [(d.name, d.is_open) for d in catalog.datasets] == [(did(9), True)]
        assert catalog.dataset_names == {did(0), did(1), did(2), did(9)}
        delta = source.replicas(since)  # the files of 3 datasets unread: Rucio names them
    finally:
        source.close()
    reads = [(login, False), (search, False), ("/dids/bulkmeta", False)]
    reads.append(("/dids/bulkfiles", False))
    assert asked == [*reads, (search, False), (bulk, True)]
    asked.clear()
    source = counted()
    try:
        whole = source.catalog(None) + source.replicas(None)
    finally:
        source.close()
    # a login, the names, then one request per 100 datasets for the open flags, the files and
    # the replicas, whose files' datasets the catalog read gave
    assert asked == [*reads, (bulk, False)]
    assert len(whole.datasets) == 4
    assert whole.replicas == delta.replicas
    assert {(r.dataset, r.site) for r in whole.replicas} == SYNCED
    [partial] = [r for r in whole.replicas if r.site == "T1_US_FNAL_Disk" and r.dataset == did(0)]
    assert [(b.size, b.num_files) for b in partial.blocks] == [(FILES[0][0], 1)]
    for db in dbs.values():
        second = sync(base, db, "--since", str(since))
        assert second["mode"] == "incremental"
        assert second["whole_sections"] == ["replicas", "sites", "users"]
        assert [c["kind"] for c in second["conflicts"]] == ["replica_missing_upstream"]
        assert second["users"] == {"added": 0, "granted": 0, "revoked": 0}
        assert replicas(db) == SYNCED
        assert detox_dry_run(db)["dry_run"] is True
        assert replicas(db) == SYNCED

    attach_file(base, {"X-Rucio-Auth-Token": peer.token()})
    db = dbs["postgresql"]
    later = sync(base, db, "--since", str(int(time.time()) - 1))
    assert "upsert_file" not in later["counts"]  # an existing dataset's new file: not seen
    assert later["counts"]["set_quota"] == 1  # DYNAMO_RUCIO_ACCOUNT_QUOTAS: jdoe's new limit
    inventory = load(db)
    data_ops = inventory.partitions["DataOpsDisk"]
    assert inventory.sites["T2_US_MIT"].partitions[data_ops].quota == 400 * GB
    full = sync(base, db)
    assert full["counts"]["upsert_file"] == 3
    block = load(db).find_block(did(9), block_name_of(did(9)))
    assert block is not None
    assert block.num_files == 3
    engine = make_engine(db)
    try:
        grants = SqlUserDirectory(engine, ttl=0).principal_for(JDOE).grants
        assert grants == {(Role.OPERATOR, Target.INVENTORY)}
    finally:
        engine.dispose()
