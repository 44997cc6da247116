from __future__ import annotations

import pytest

from dynamo.errors import ChangeSetFormatError
from dynamo.model import ChangeSet, DatasetStatus, UpsertBlockReplica, UpsertDataset

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
