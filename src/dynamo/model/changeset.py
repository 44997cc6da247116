"""ChangeSet: the one currency of change to the inventory.

A ChangeSet is an ordered tuple of operations, each an upsert or a deletion keyed by natural
keys. Upserts carry the object's whole state (not a patch), so applying a ChangeSet twice leaves
the inventory as applying it once; deleting what does not exist is a no-op. Deletions cascade
down the object graph as in the store (a dataset takes its blocks and replicas with it).

Serialised form (``to_dict``, JSON or msgpack)::

    {"version": 1, "ops": [{"op": "upsert_dataset", "name": "/A/B/C", ...}, ...]}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from operator import attrgetter
from typing import Any, ClassVar, Final, TypeAlias, get_type_hints

import msgpack
import orjson

from dynamo.errors import ChangeSetFormatError
from dynamo.model.enums import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType

__all__ = [
    "FORMAT_VERSION",
    "ChangeSet",
    "DeleteBlock",
    "DeleteBlockReplica",
    "DeleteDataset",
    "DeleteDatasetReplica",
    "DeleteFile",
    "DeleteGroup",
    "DeleteSite",
    "Operation",
    "SetQuota",
    "UpsertBlock",
    "UpsertBlockReplica",
    "UpsertDataset",
    "UpsertDatasetReplica",
    "UpsertFile",
    "UpsertGroup",
    "UpsertPartition",
    "UpsertSite",
]

FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class _Op:
    kind: ClassVar[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertGroup(_Op):
    kind: ClassVar[str] = "upsert_group"
    name: str
    olevel: GroupLevel = GroupLevel.BLOCK


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteGroup(_Op):
    """Delete a group; its replicas pass to the null group."""

    kind: ClassVar[str] = "delete_group"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertSite(_Op):
    kind: ClassVar[str] = "upsert_site"
    name: str
    host: str = ""
    storage_type: StorageType = StorageType.DISK
    backend: str = ""
    status: SiteStatus = SiteStatus.READY


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteSite(_Op):
    kind: ClassVar[str] = "delete_site"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertPartition(_Op):
    """Define a partition by a condition on block replicas, or as a union of partitions."""

    kind: ClassVar[str] = "upsert_partition"
    name: str
    condition: str | None = None
    subpartitions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SetQuota(_Op):
    """Set the quota in bytes of a (site, partition); negative means unlimited."""

    kind: ClassVar[str] = "set_quota"
    site: str
    partition: str
    quota: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertDataset(_Op):
    kind: ClassVar[str] = "upsert_dataset"
    name: str
    status: DatasetStatus = DatasetStatus.VALID
    data_type: DataType = DataType.UNKNOWN
    software_version: tuple[int, int, int, str] | None = None
    last_update: int = 0
    is_open: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteDataset(_Op):
    kind: ClassVar[str] = "delete_dataset"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertBlock(_Op):
    kind: ClassVar[str] = "upsert_block"
    dataset: str
    name: str
    size: int = 0
    num_files: int = 0
    is_open: bool = False
    last_update: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteBlock(_Op):
    kind: ClassVar[str] = "delete_block"
    dataset: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertFile(_Op):
    """Register a file of a block. Files live in the store only; the block's size is its own."""

    kind: ClassVar[str] = "upsert_file"
    lfn: str
    dataset: str
    block: str
    size: int
    adler32: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteFile(_Op):
    kind: ClassVar[str] = "delete_file"
    lfn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertDatasetReplica(_Op):
    """Create or update a dataset replica; ``group`` None is the null group."""

    kind: ClassVar[str] = "upsert_dataset_replica"
    dataset: str
    site: str
    group: str | None = None
    growing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteDatasetReplica(_Op):
    kind: ClassVar[str] = "delete_dataset_replica"
    dataset: str
    site: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertBlockReplica(_Op):
    """Create or update a block replica; its dataset replica must exist (or be upserted first).

    ``size`` and ``num_files`` describe what is present; ``None`` means complete (the block's).
    """

    kind: ClassVar[str] = "upsert_block_replica"
    dataset: str
    block: str
    site: str
    group: str | None = None
    is_custodial: bool = False
    size: int | None = None
    num_files: int | None = None
    last_update: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteBlockReplica(_Op):
    kind: ClassVar[str] = "delete_block_replica"
    dataset: str
    block: str
    site: str


Operation: TypeAlias = (
    UpsertGroup
    | DeleteGroup
    | UpsertSite
    | DeleteSite
    | UpsertPartition
    | SetQuota
    | UpsertDataset
    | DeleteDataset
    | UpsertBlock
    | DeleteBlock
    | UpsertFile
    | DeleteFile
    | UpsertDatasetReplica
    | DeleteDatasetReplica
    | UpsertBlockReplica
    | DeleteBlockReplica
)

_OP_TYPES: Final[tuple[type[_Op], ...]] = (
    UpsertGroup,
    DeleteGroup,
    UpsertSite,
    DeleteSite,
    UpsertPartition,
    SetQuota,
    UpsertDataset,
    DeleteDataset,
    UpsertBlock,
    DeleteBlock,
    UpsertFile,
    DeleteFile,
    UpsertDatasetReplica,
    DeleteDatasetReplica,
    UpsertBlockReplica,
    DeleteBlockReplica,
)
_BY_KIND: Final[dict[str, type[_Op]]] = {t.kind: t for t in _OP_TYPES}
_ENUM_FIELDS: Final[dict[type[_Op], dict[str, type[IntEnum]]]] = {
    t: {
        name: hint
        for name, hint in get_type_hints(t).items()
        if isinstance(hint, type) and issubclass(hint, IntEnum)
    }
    for t in _OP_TYPES
}

_PACKING: Final[dict[type[_Op], tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], bool]]] = {
    t: (
        ("op", *(f.name for f in fields(t))),
        attrgetter("kind", *(f.name for f in fields(t))),
        bool(_ENUM_FIELDS[t]),
    )
    for t in _OP_TYPES
}
"""Per operation type: the keys of its serialised form ("op", then the fields in order), a
getter of the matching values (``kind`` first), whether some are enums (packed by name)."""


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """An ordered, immutable batch of operations applied atomically to inventory and store."""

    ops: tuple[Operation, ...] = ()
    version: int = FORMAT_VERSION

    @classmethod
    def of(cls, ops: Iterable[Operation]) -> ChangeSet:
        return cls(tuple(ops))

    def __len__(self) -> int:
        return len(self.ops)

    def __bool__(self) -> bool:
        return bool(self.ops)

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.ops + other.ops)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "ops": [_op_to_dict(op) for op in self.ops]}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def to_msgpack(self) -> bytes:
        """The bytes of ``msgpack.packb(self.to_dict())``, packed without a dict per operation
        (each operation as its (key, value) pairs, read by one attrgetter)."""
        packer = msgpack.Packer(use_bin_type=True, autoreset=False)
        packer.pack_map_header(2)
        packer.pack("version")
        packer.pack(self.version)
        packer.pack("ops")
        packer.pack_array_header(len(self.ops))
        pack_pairs = packer.pack_map_pairs
        for op in self.ops:
            keys, values_of, has_enums = _PACKING[type(op)]
            values = values_of(op)
            if has_enums:
                values = tuple(v.name if isinstance(v, IntEnum) else v for v in values)
            pack_pairs(tuple(zip(keys, values, strict=True)))
        return packer.bytes()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeSet:
        if not isinstance(data, Mapping):
            raise ChangeSetFormatError(f"a ChangeSet is a mapping, not {type(data).__name__}")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise ChangeSetFormatError(
                f"unsupported ChangeSet version {version!r} (this code reads {FORMAT_VERSION})"
            )
        raw_ops = data.get("ops")
        if not isinstance(raw_ops, list):
            raise ChangeSetFormatError("field 'ops' must be a list")
        return cls(tuple(_op_from_dict(raw, index) for index, raw in enumerate(raw_ops)))

    @classmethod
    def from_json(cls, text: bytes | str) -> ChangeSet:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ChangeSetFormatError(f"not JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_msgpack(cls, blob: bytes) -> ChangeSet:
        try:
            data = msgpack.unpackb(blob, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise ChangeSetFormatError(f"not msgpack: {exc}") from exc
        return cls.from_dict(data)


def _op_to_dict(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.kind}
    for name in _PACKING[type(op)][0][1:]:
        value = getattr(op, name)
        if isinstance(value, IntEnum):
            value = value.name
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def _op_from_dict(raw: object, index: int) -> Operation:
    where = f"ops[{index}]"
    if not isinstance(raw, Mapping):
        raise ChangeSetFormatError(f"{where}: an operation is a mapping")
    kind = raw.get("op")
    op_type = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if op_type is None:
        raise ChangeSetFormatError(f"{where}: unknown operation {kind!r}")
    known = {f.name for f in fields(op_type)}
    unknown = set(raw) - known - {"op"}
    if unknown:
        raise ChangeSetFormatError(f"{where} ({kind}): unknown fields {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "op":
            continue
        kwargs[name] = _decode_field(op_type, name, value, where)
    try:
        op = op_type(**kwargs)
    except TypeError as exc:
        raise ChangeSetFormatError(f"{where} ({kind}): {exc}") from exc
    _check_types(op, where)
    return op  # type: ignore[return-value]


def _decode_field(op_type: type[_Op], name: str, value: Any, where: str) -> Any:
    enum_type = _ENUM_FIELDS[op_type].get(name)
    if enum_type is not None:
        try:
            return enum_type[value] if isinstance(value, str) else enum_type(value)
        except (KeyError, ValueError) as exc:
            choices = ", ".join(m.name for m in enum_type)
            raise ChangeSetFormatError(
                f"{where}: field {name!r} has value {value!r}; expected one of {choices}"
            ) from exc
    if isinstance(value, list):
        return tuple(value)
    return value


_SCALAR_CHECKS: Final[dict[str, tuple[type, ...]]] = {
    "name": (str,),
    "dataset": (str,),
    "block": (str,),
    "site": (str,),
    "lfn": (str,),
    "partition": (str,),
    "host": (str,),
    "backend": (str,),
    "adler32": (str,),
    "quota": (int,),
    "last_update": (int,),
    "is_open": (bool,),
    "growing": (bool,),
    "is_custodial": (bool,),
}


def _check_types(op: _Op, where: str) -> None:
    """Reject wrongly typed values early, so bad input never reaches the inventory."""
    for f in dataclasses.fields(op):
        value = getattr(op, f.name)
        expected = _SCALAR_CHECKS.get(f.name)
        if expected is not None and (
            not isinstance(value, expected) or (expected == (int,) and isinstance(value, bool))
        ):
            raise ChangeSetFormatError(
                f"{where} ({op.kind}): field {f.name!r} has value {value!r}; "
                f"expected {expected[0].__name__}"
            )
        if (
            f.name in ("size", "num_files")
            and value is not None
            and (not isinstance(value, int) or isinstance(value, bool))
        ):
            raise ChangeSetFormatError(
                f"{where} ({op.kind}): field {f.name!r} has value {value!r}; expected int"
            )
        if f.name == "group" and value is not None and not isinstance(value, str):
            raise ChangeSetFormatError(
                f"{where} ({op.kind}): field 'group' has value {value!r}; expected str or null"
            )
