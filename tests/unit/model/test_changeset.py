from __future__ import annotations

import typing

import msgpack
import pytest

from dynamo.errors import ChangeSetFormatError
from dynamo.model import (
    ChangeSet,
    DatasetStatus,
    DataType,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    DeleteGroup,
    DeleteSite,
    GroupLevel,
    Operation,
    SetQuota,
    SiteStatus,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
)

from .conftest import base_ops


def test_a_changeset_round_trips_through_json_and_msgpack() -> None:
    changeset = base_ops() + ChangeSet.of(
        [
            UpsertDataset(
                name="/A/B/RAW",
                status=DatasetStatus.PRODUCTION,
                software_version=(10, 6, 4, "patch1"),
            )
        ]
    )
    assert ChangeSet.from_json(changeset.to_json()) == changeset
    assert ChangeSet.from_msgpack(changeset.to_msgpack()) == changeset


EVERY_KIND = ChangeSet.of(
    [
        UpsertGroup(name="G", olevel=GroupLevel.DATASET),
        DeleteGroup(name="H"),
        UpsertSite(name="S", host="h", storage_type=StorageType.MSS, status=SiteStatus.MORGUE),
        DeleteSite(name="T"),
        UpsertPartition(name="P", subpartitions=("A", "B")),
        UpsertPartition(name="Q", condition="replica.is_custodial"),
        SetQuota(site="S", partition="P", quota=-1),
        UpsertDataset(name="/A/B/C", data_type=DataType.MC, software_version=(1, 2, 3, "")),
        DeleteDataset(name="/D/E/F"),
        UpsertBlock(dataset="/A/B/C", name="b", size=2**40, num_files=3, last_update=7),
        DeleteBlock(dataset="/A/B/C", name="c"),
        UpsertFile(lfn="/store/\u00e9\\x", dataset="/A/B/C", block="b", size=0, adler32="01"),
        DeleteFile(lfn="/store/y"),
        UpsertDatasetReplica(dataset="/A/B/C", site="S", group=None, growing=True),
        DeleteDatasetReplica(dataset="/A/B/C", site="T"),
        UpsertBlockReplica(dataset="/A/B/C", block="b", site="S", size=None, num_files=None),
        UpsertBlockReplica(dataset="/A/B/C", block="b", site="S", group="G", size=1, num_files=1),
        DeleteBlockReplica(dataset="/A/B/C", block="b", site="T"),
    ]
)


def test_msgpack_is_the_dict_form_packed_byte_for_byte() -> None:
    """The log's rows are read by followers and older readers: to_msgpack packs without a
    dict per operation, and must give exactly the bytes of the documented dict form."""
    assert {type(op) for op in EVERY_KIND.ops} == set(typing.get_args(Operation))
    for changeset in (EVERY_KIND, ChangeSet(), base_ops()):
        assert changeset.to_msgpack() == msgpack.packb(changeset.to_dict(), use_bin_type=True)
    assert ChangeSet.from_msgpack(EVERY_KIND.to_msgpack()) == EVERY_KIND


def test_enums_are_serialised_by_name() -> None:
    data = ChangeSet.of([UpsertDataset(name="/A/B/C", status=DatasetStatus.DEPRECATED)]).to_dict()
    assert data["ops"][0]["status"] == "DEPRECATED"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[1, 2]", "a ChangeSet is a mapping"),
        (b'{"version": 99, "ops": []}', "unsupported ChangeSet version 99"),
        (b'{"version": 1, "ops": {}}', "field 'ops' must be a list"),
        (b'{"version": 1, "ops": [{"op": "explode"}]}', "ops[0]: unknown operation 'explode'"),
        (
            b'{"version": 1, "ops": [{"op": "upsert_dataset", "name": "/a/b/c", "colour": 1}]}',
            "unknown fields ['colour']",
        ),
        (
            b'{"version": 1, "ops": [{"op": "upsert_dataset", "name": "/a/b/c", "status": "SHINY"}]}',
            "field 'status' has value 'SHINY'",
        ),
        (
            b'{"version": 1, "ops": [{"op": "upsert_block", "dataset": "/a/b/c", "name": "x", "size": "big"}]}',
            "field 'size' has value 'big'; expected int",
        ),
        (
            b'{"version": 1, "ops": [{"op": "upsert_site"}]}',
            "missing 1 required keyword-only argument",
        ),
        (b"{not json", "not JSON"),
    ],
)
def test_malformed_changesets_are_rejected_with_the_field_named(
    payload: bytes, message: str
) -> None:
    with pytest.raises(ChangeSetFormatError) as info:
        ChangeSet.from_json(payload)
    assert message in str(info.value)


def test_a_boolean_is_not_accepted_as_a_size() -> None:
    raw = {
        "version": 1,
        "ops": [
            {
                "op": "upsert_block_replica",
                "dataset": "/a/b/c",
                "block": "b",
                "site": "s",
                "size": True,
                "num_files": 1,
            }
        ],
    }
    with pytest.raises(ChangeSetFormatError, match="field 'size'"):
        ChangeSet.from_dict(raw)


def test_complete_block_replicas_serialise_null_sizes() -> None:
    op = UpsertBlockReplica(dataset="/a/b/c", block="b", site="s")
    assert ChangeSet.of([op]).to_dict()["ops"][0]["size"] is None
