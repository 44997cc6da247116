"""`dynamo sync run rucio+http://...` against a real Rucio server (PyPI ``rucio`` from the peer
benchmark's cached venv, on the local PostgreSQL), started and filled by the test.

The issue's acceptance: datasets and replicas at several RSEs are imported; an incremental
sync picks up a new dataset, a new replica and a deleted one; a Detox dry run then works.
The Rucio venv is made on first use (tests/rucio_support.py); without it the test fails,
unless DYNAMO_TEST_SKIP_SERVERS=1.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dynamo.bench.peer.rucio_env import USERPASS, RucioPeer
from dynamo.cli.main import app
from dynamo.policy import partition_compiler
from dynamo.sources import block_name_of
from dynamo.store import SqlInventoryStore
from integration.sources.conftest import AS_OF, detox_dry_run
from rucio_support import rucio_python

RSES = ("T2_US_MIT", "T2_CH_CERN", "T1_US_FNAL_Disk")
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


@pytest.fixture(scope="module")
def rucio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RucioPeer, str]]:
    python = rucio_python()
    home = tmp_path_factory.mktemp("rucio")
    spec = home / "spec.json"
    spec.write_text(json.dumps(SPEC))
    with RucioPeer(python, home, database="rucio_sources_test") as peer:
        peer.run("bootstrap.py", str(spec), timeout=600)
        peer.run("register.py", str(spec), "100", timeout=600)
        yield peer, peer.serve(workers=1, threads=2)


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


def replicas(db: str) -> set[tuple[str, str]]:
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        return {(r.dataset.name, r.site.name) for r in inventory.iter_dataset_replicas()}
    finally:
        store.close()


def change_rucio(peer: RucioPeer, base: str) -> None:
    """A new dataset (ds_000009 at T2_CH_CERN), a new replica (ds_000001 at T1_US_FNAL_Disk)
    and a deleted one (ds_000002 at T2_US_MIT)."""
    headers = {"X-Rucio-Auth-Token": peer.token()}
    new_files = [
        {"scope": "cms", "name": f"f_000009_{j:02d}", "bytes": size, "adler32": adler}
        for j, (size, adler) in enumerate(FILES)
    ]
    copies = [
        {"scope": "cms", "name": f"f_000001_{j:02d}", "bytes": size, "adler32": adler}
        for j, (size, adler) in enumerate(FILES)
    ]
    calls = [
        ("/replicas", {"rse": "T2_CH_CERN", "files": new_files}),
        ("/dids/cms/ds_000009", {"type": "DATASET"}),
        (
            "/dids/cms/ds_000009/dids",
            {"dids": [{"scope": "cms", "name": f["name"]} for f in new_files]},
        ),
        ("/replicas", {"rse": "T1_US_FNAL_Disk", "files": copies}),
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


def test_a_rucio_instance_is_imported_synced_and_cleaned_by_a_detox_dry_run(
    rucio: tuple[RucioPeer, str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer, base = rucio
    account, user, password = USERPASS
    monkeypatch.setenv("DYNAMO_RUCIO_ACCOUNT", account)
    monkeypatch.setenv("DYNAMO_RUCIO_USERNAME", user)
    monkeypatch.setenv("DYNAMO_RUCIO_PASSWORD", password)
    monkeypatch.setenv("DYNAMO_RUCIO_SCOPES", "cms")

    imported = runner.invoke(app, ["import", "rucio", base, "--db", db, "--scope", "cms", "--json"])
    assert imported.exit_code == 0, imported.output
    first = json.loads(imported.stdout)
    assert first["conflicts"] == []
    assert first["counts"]["upsert_dataset"] == 3
    assert first["counts"]["upsert_site"] == 3
    assert replicas(db) == {
        (did(0), "T2_US_MIT"),
        (did(0), "T2_CH_CERN"),
        (did(1), "T2_US_MIT"),
        (did(2), "T2_US_MIT"),
        (did(2), "T1_US_FNAL_Disk"),
    }
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        block = inventory.find_block(did(0), block_name_of(did(0)))
        assert block is not None
        assert (block.size, block.num_files) == (3_000_000_000, 2)
        assert [f.lfn for f in store.files_of(block)] == ["cms:f_000000_00", "cms:f_000000_01"]
    finally:
        store.close()

    change_rucio(peer, base)
    second = sync(base, db, "--since", str(AS_OF))
    assert [c["kind"] for c in second["conflicts"]] == ["replica_missing_upstream"]
    assert replicas(db) == {
        (did(0), "T2_US_MIT"),
        (did(0), "T2_CH_CERN"),
        (did(1), "T2_US_MIT"),
        (did(1), "T1_US_FNAL_Disk"),
        (did(2), "T1_US_FNAL_Disk"),
        (did(9), "T2_CH_CERN"),
    }

    assert detox_dry_run(db)["dry_run"] is True
    assert len(replicas(db)) == 6
