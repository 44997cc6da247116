"""JSON views of model objects, and the response models that document them in OpenAPI.

Views are built from the live image on the event loop thread and hold only plain values.
:class:`RecordView` is the response model of a frozen record (a row of a history or a queue)
whose ``to_json()`` a route returns: it takes the record's fields rather than repeating them.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from dynamo.model import Block, BlockReplica, Dataset, DatasetReplica, Inventory, Site
from dynamo.store.records import field_names

__all__ = [
    "BlockReplicaView",
    "BlockView",
    "DatasetReplicaView",
    "DatasetView",
    "PartitionUsageView",
    "RecordView",
    "SiteView",
    "StrictModel",
    "block_replica_view",
    "block_view",
    "dataset_replica_view",
    "dataset_view",
    "json_body",
    "json_of",
    "site_view",
]


class StrictModel(BaseModel):
    """A model that refuses the fields it does not declare (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


class RecordView(StrictModel):
    """The response model of a frozen record (a dataclass) whose ``to_json()`` a route returns.

    A subclass, ``class V(RecordView, record=R)``, has the fields of record ``R`` in its order
    and with its types, but for those ``types`` replaces: the enum of a field ``R`` holds as
    ``str``, ``list[...]`` for a tuple, ``| None`` where ``to_json()`` writes null for
    infinity. Its docstring is its OpenAPI description. The fields are set before pydantic
    collects them, but type checkers do not see them: build such a view with
    ``V(**record.to_json())``.
    """

    def __init_subclass__(
        cls,
        *,
        record: type[Any],
        types: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.__annotations__ = _record_fields(record, types or {})


def _record_fields(record: type[Any], types: Mapping[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(record)
    names = field_names(record)
    unknown = set(types) - set(names)
    if unknown:
        raise TypeError(f"{record.__name__} has no field {sorted(unknown)}")
    return {name: types.get(name, hints[name]) for name in names}


class DatasetView(BaseModel):
    name: str
    status: str
    data_type: str
    software_version: str | None
    size: int
    num_files: int
    num_blocks: int
    is_open: bool
    last_update: int
    sites: list[str]


class BlockView(BaseModel):
    dataset: str
    name: str
    size: int
    num_files: int
    is_open: bool
    last_update: int
    sites: list[str]


class PartitionUsageView(BaseModel):
    partition: str
    quota: int
    physical_bytes: int
    projected_bytes: int
    occupancy: float | None


class SiteView(BaseModel):
    name: str
    host: str
    storage_type: str
    status: str
    backend: str
    num_dataset_replicas: int
    partitions: list[PartitionUsageView]


class DatasetReplicaView(BaseModel):
    dataset: str
    site: str
    group: str | None
    growing: bool
    num_blocks: int
    size: int
    is_complete: bool
    is_full: bool


class BlockReplicaView(BaseModel):
    dataset: str
    block: str
    site: str
    group: str | None
    is_custodial: bool
    size: int
    num_files: int
    is_complete: bool
    last_update: int


def _version(dataset: Dataset) -> str | None:
    version = dataset.software_version
    return None if version is None else "_".join(str(part) for part in version if part != "")


def dataset_view(dataset: Dataset) -> DatasetView:
    return DatasetView(
        name=dataset.name,
        status=dataset.status.name,
        data_type=dataset.data_type.name,
        software_version=_version(dataset),
        size=dataset.size,
        num_files=dataset.num_files,
        num_blocks=len(dataset.blocks),
        is_open=dataset.is_open,
        last_update=dataset.last_update,
        sites=sorted(site.name for site in dataset.replicas),
    )


def block_view(block: Block) -> BlockView:
    return BlockView(
        dataset=block.dataset.name,
        name=block.name,
        size=block.size,
        num_files=block.num_files,
        is_open=block.is_open,
        last_update=block.last_update,
        sites=sorted(replica.site.name for replica in block.replicas),
    )


def _finite(value: float) -> float | None:
    return None if value == float("inf") else round(value, 6)


def site_view(site: Site, inventory: Inventory) -> SiteView:
    return SiteView(
        name=site.name,
        host=site.host,
        storage_type=site.storage_type.name,
        status=site.status.name,
        backend=site.backend,
        num_dataset_replicas=len(site.dataset_replicas),
        partitions=[
            PartitionUsageView(
                partition=partition.name,
                quota=usage.effective_quota(),
                physical_bytes=usage.physical_bytes,
                projected_bytes=usage.projected_bytes,
                occupancy=_finite(usage.occupancy()),
            )
            for partition in inventory.partitions
            if (usage := site.partitions.get(partition)) is not None
        ],
    )


def dataset_replica_view(replica: DatasetReplica) -> DatasetReplicaView:
    return DatasetReplicaView(
        dataset=replica.dataset.name,
        site=replica.site.name,
        group=replica.group.name,
        growing=replica.growing,
        num_blocks=len(replica.block_replicas),
        size=replica.size(),
        is_complete=replica.is_complete(),
        is_full=replica.is_full(),
    )


def block_replica_view(replica: BlockReplica) -> BlockReplicaView:
    return BlockReplicaView(
        dataset=replica.block.dataset.name,
        block=replica.block.name,
        site=replica.site.name,
        group=replica.group.name,
        is_custodial=replica.is_custodial,
        size=replica.size,
        num_files=replica.num_files,
        is_complete=replica.is_complete(),
        last_update=replica.last_update,
    )


def json_body(model: BaseModel | Sequence[BaseModel]) -> bytes:
    """The JSON of already-built views, serialized once by pydantic-core."""
    if isinstance(model, BaseModel):
        return model.__pydantic_serializer__.to_json(model)
    return b"[" + b",".join(m.__pydantic_serializer__.to_json(m) for m in model) + b"]"


def json_of(model: BaseModel | Sequence[BaseModel]) -> Response:
    """A JSON response of already-built views (:func:`json_body`).

    Routes that return it keep their ``response_model`` for the OpenAPI document; FastAPI
    passes a Response through without validating the views a second time.
    """
    return Response(json_body(model), media_type="application/json")
