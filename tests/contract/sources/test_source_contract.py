"""One contract for every Source adapter: the same document read through the memory, JSON file,
CSV files and HTTP adapters gives the same Snapshot, section by section, and a since read
carries the deletions of its own sections only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from contract.sources.csv_writer import write_csv_source
from dynamo.sources import (
    CsvSource,
    HttpJsonSource,
    JsonFileSource,
    MemorySource,
    Source,
    parse_document,
    read_snapshot,
)

DATASET = "/ZeroBias/Run2018D-PromptReco-v2/AOD"
BLOCK = "b8bacdd2-b6c9-11e2-809b-003048f0e7dc"
DOCUMENT = {
    "version": 1,
    "as_of": 1_700_000_000,
    "sites": [{"name": "T2_US_MIT", "quotas": {"AnalysisOps": 10**12}}],
    "groups": [{"name": "AnalysisOps"}],
    "datasets": [
        {
            "name": DATASET,
            "status": "production",
            "data_type": "DATA",
            "software_version": [10, 2, 5, "patch1"],
            "is_open": False,
            "last_update": 1_530_000_000,
            "blocks": [
                {
                    "name": BLOCK,
                    "size": 10,
                    "num_files": 1,
                    "files": [{"lfn": "/store/data/a.root", "size": 10}],
                }
            ],
        }
    ],
    "replicas": [
        {"dataset": DATASET, "site": "T2_US_MIT", "group": "AnalysisOps"},
        {
            "dataset": DATASET,
            "site": "T1_US_FNAL_Disk",
            "blocks": [{"block": BLOCK, "size": 5, "num_files": 0, "is_custodial": True}],
        },
    ],
    "popularity": [{"dataset": DATASET, "site": "T2_US_MIT", "day": 1_699_920_000, "accesses": 3}],
    "users": [
        {
            "name": "jdoe",
            "dn": "/DC=ch/DC=cern/OU=Users/CN=jdoe",
            "roles": [["operator", "inventory"], ["user", "registry"]],
        },
        {"name": "nobody", "dn": "/DC=org/CN=nobody", "roles": []},
    ],
    "demand": [{"dataset": DATASET, "jobs": 40, "queued": 1_699_990_000}],
    "deleted": {
        "datasets": ["/Old/Dataset-v1/AOD"],
        "blocks": [[DATASET, "0000-old"]],
        "replicas": [[DATASET, "T2_CH_CERN"]],
        "block_replicas": [[DATASET, BLOCK, "T1_US_FNAL_Disk"]],
    },
}


def _memory(tmp_path: Path) -> Source:
    return MemorySource(parse_document(DOCUMENT))


def _file(tmp_path: Path) -> Source:
    path = tmp_path / "source.json"
    path.write_bytes(orjson.dumps(DOCUMENT))
    return JsonFileSource(path)


def _csv(tmp_path: Path) -> Source:
    return CsvSource(write_csv_source(DOCUMENT, tmp_path / "csv"))


def _http(tmp_path: Path) -> Source:
    def handler(request: httpx.Request) -> httpx.Response:
        section = request.url.path.rsplit("/", 1)[-1]
        body = {"version": 1, "as_of": DOCUMENT["as_of"], section: DOCUMENT[section]}
        if "since" in request.url.params:
            body["deleted"] = DOCUMENT["deleted"]
        return httpx.Response(200, json=body)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpJsonSource("http://source.test/v1", client=client)


@pytest.fixture(params=[_memory, _file, _csv, _http], ids=["memory", "file", "csv", "http"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    factory: Callable[[Path], Source] = request.param
    adapter = factory(tmp_path)
    yield adapter
    adapter.close()


def test_every_adapter_reads_the_whole_document(source: Source) -> None:
    assert read_snapshot(source, since=0) == parse_document(DOCUMENT)


def test_each_port_returns_only_its_section(source: Source) -> None:
    catalog = source.catalog(0)
    assert catalog.sections == {"datasets"}
    assert catalog.deleted.datasets == ("/Old/Dataset-v1/AOD",)
    assert catalog.deleted.replicas == ()
    replicas = source.replicas(0)
    assert replicas.sections == {"replicas"}
    assert replicas.deleted.replicas == ((DATASET, "T2_CH_CERN"),)
    assert replicas.deleted.datasets == ()
    assert source.sites().sites[0].quotas == (("AnalysisOps", 10**12),)
    assert [g.name for g in source.groups().groups] == ["AnalysisOps"]
    assert source.popularity(0).accesses[0].accesses == 3
    users = source.users()
    assert users.sections == {"users"}
    assert users.users[0].roles == (("operator", "inventory"), ("user", "registry"))
    assert source.demand(0).demand[0].jobs == 40
