"""The JSON schema of a source document (``docs/sources.md``), parsed into a Snapshot.

A document is an object ``{"version": 1, "as_of": T, <section>: [...], "deleted": {...}}``;
every section is optional and only the sections present take part in a full sync. Bad input
raises :class:`SourceFormatError` naming the path of the offending value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any, Final, TypeVar

from dynamo.dn import InvalidDnError, normalize_dn
from dynamo.errors import DynamoError
from dynamo.model import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType
from dynamo.sources.records import (
    SECTIONS,
    Deletions,
    Snapshot,
    SourceAccess,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceDemand,
    SourceFile,
    SourceGroup,
    SourceReplica,
    SourceSite,
    SourceUser,
)
from dynamo.store.schema.auth import ROLE_NAMES, TARGET_NAMES

__all__ = ["SCHEMA_VERSION", "SourceError", "SourceFormatError", "parse_document"]

SCHEMA_VERSION: Final = 1

E = TypeVar("E", bound=IntEnum)
T = TypeVar("T")


class SourceError(DynamoError, RuntimeError):
    """A source could not be read (unreachable, failed, or not found)."""

    code = "source"


class SourceFormatError(DynamoError, ValueError):
    """A source document that does not follow the schema."""

    code = "source_format"


def parse_document(data: object) -> Snapshot:
    """The Snapshot of one source document; SourceFormatError if it breaks the schema."""
    doc = _mapping(data, "$")
    if doc.get("version") != SCHEMA_VERSION:
        raise SourceFormatError(f"$.version: expected {SCHEMA_VERSION}, got {doc.get('version')!r}")
    unknown = set(doc) - {"version", "as_of", "deleted", *SECTIONS}
    if unknown:
        raise SourceFormatError(f"$: unknown fields {sorted(unknown)}")
    return Snapshot(
        as_of=_int(doc.get("as_of", 0), "$.as_of"),
        sections=frozenset(name for name in SECTIONS if name in doc),
        sites=_list(doc, "sites", _site),
        groups=_list(doc, "groups", _group),
        datasets=_list(doc, "datasets", _dataset),
        replicas=_list(doc, "replicas", _replica),
        accesses=_list(doc, "popularity", _access),
        users=_list(doc, "users", _user),
        demand=_list(doc, "demand", _demand),
        deleted=_deletions(doc.get("deleted", {}), "$.deleted"),
    )


def _list(doc: Mapping[str, Any], key: str, item: Callable[[Any, str], T]) -> tuple[T, ...]:
    raw = doc.get(key, [])
    if not isinstance(raw, list):
        raise SourceFormatError(f"$.{key}: expected a list")
    return tuple(item(value, f"$.{key}[{i}]") for i, value in enumerate(raw))


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SourceFormatError(f"{where}: expected an object")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SourceFormatError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SourceFormatError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


def _opt_int(value: object, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise SourceFormatError(f"{where}: expected true or false, got {value!r}")
    return value


def _enum(enum: type[E], value: object, where: str) -> E:
    if isinstance(value, str) and value.upper() in enum.__members__:
        return enum[value.upper()]
    choices = ", ".join(enum.__members__)
    raise SourceFormatError(f"{where}: expected one of {choices}, got {value!r}")


def _fields(raw: object, where: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    item = _mapping(raw, where)
    unknown = set(item) - allowed
    if unknown:
        raise SourceFormatError(f"{where}: unknown fields {sorted(unknown)}")
    missing = required - set(item)
    if missing:
        raise SourceFormatError(f"{where}: missing fields {sorted(missing)}")
    return item


def _site(raw: object, where: str) -> SourceSite:
    item = _fields(
        raw, where, {"name", "host", "storage_type", "backend", "status", "quotas"}, {"name"}
    )
    quotas = _mapping(item.get("quotas", {}), f"{where}.quotas")
    return SourceSite(
        name=_str(item["name"], f"{where}.name"),
        host=str(item.get("host", "")),
        storage_type=_enum(StorageType, item.get("storage_type", "DISK"), f"{where}.storage_type"),
        backend=str(item.get("backend", "")),
        status=_enum(SiteStatus, item.get("status", "READY"), f"{where}.status"),
        quotas=tuple(
            (name, _quota(value, f"{where}.quotas.{name}"))
            for name, value in sorted(quotas.items())
        ),
    )


def _quota(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SourceFormatError(f"{where}: expected an integer (bytes; -1 unlimited)")
    return value


def _group(raw: object, where: str) -> SourceGroup:
    item = _fields(raw, where, {"name", "olevel"}, {"name"})
    return SourceGroup(
        name=_str(item["name"], f"{where}.name"),
        olevel=_enum(GroupLevel, item.get("olevel", "BLOCK"), f"{where}.olevel"),
    )


def _dataset(raw: object, where: str) -> SourceDataset:
    keys = {"name", "status", "data_type", "software_version", "is_open", "last_update", "blocks"}
    item = _fields(raw, where, keys, {"name"})
    version = item.get("software_version")
    if version is not None:
        ok = isinstance(version, list) and len(version) == 4
        if not ok or not all(isinstance(v, int) for v in version[:3]):
            raise SourceFormatError(f"{where}.software_version: expected [int, int, int, str]")
        version = (version[0], version[1], version[2], str(version[3]))
    return SourceDataset(
        name=_str(item["name"], f"{where}.name"),
        status=_enum(DatasetStatus, item.get("status", "VALID"), f"{where}.status"),
        data_type=_enum(DataType, item.get("data_type", "UNKNOWN"), f"{where}.data_type"),
        software_version=version,
        is_open=_bool(item.get("is_open", True), f"{where}.is_open"),
        last_update=_int(item.get("last_update", 0), f"{where}.last_update"),
        blocks=_list(item, "blocks", lambda b, w: _block(b, where + w[1:])),
    )


def _block(raw: object, where: str) -> SourceBlock:
    keys = {"name", "size", "num_files", "is_open", "last_update", "files"}
    item = _fields(raw, where, keys, {"name", "size", "num_files"})
    return SourceBlock(
        name=_str(item["name"], f"{where}.name"),
        size=_int(item["size"], f"{where}.size"),
        num_files=_int(item["num_files"], f"{where}.num_files"),
        is_open=_bool(item.get("is_open", False), f"{where}.is_open"),
        last_update=_int(item.get("last_update", 0), f"{where}.last_update"),
        files=_list(item, "files", lambda f, w: _file(f, where + w[1:])),
    )


def _file(raw: object, where: str) -> SourceFile:
    item = _fields(raw, where, {"lfn", "size", "adler32"}, {"lfn", "size"})
    return SourceFile(
        lfn=_str(item["lfn"], f"{where}.lfn"),
        size=_int(item["size"], f"{where}.size"),
        adler32=str(item.get("adler32", "")),
    )


def _replica(raw: object, where: str) -> SourceReplica:
    item = _fields(raw, where, {"dataset", "site", "group", "blocks"}, {"dataset", "site"})
    group = item.get("group")
    return SourceReplica(
        dataset=_str(item["dataset"], f"{where}.dataset"),
        site=_str(item["site"], f"{where}.site"),
        group=None if group is None else _str(group, f"{where}.group"),
        blocks=(
            None
            if item.get("blocks") is None
            else _list(item, "blocks", lambda b, w: _block_replica(b, where + w[1:]))
        ),
    )


def _block_replica(raw: object, where: str) -> SourceBlockReplica:
    keys = {"block", "size", "num_files", "is_custodial", "last_update"}
    item = _fields(raw, where, keys, {"block"})
    return SourceBlockReplica(
        block=_str(item["block"], f"{where}.block"),
        size=_opt_int(item.get("size"), f"{where}.size"),
        num_files=_opt_int(item.get("num_files"), f"{where}.num_files"),
        is_custodial=_bool(item.get("is_custodial", False), f"{where}.is_custodial"),
        last_update=_int(item.get("last_update", 0), f"{where}.last_update"),
    )


def _access(raw: object, where: str) -> SourceAccess:
    item = _fields(
        raw, where, {"dataset", "site", "day", "accesses"}, {"dataset", "site", "day", "accesses"}
    )
    return SourceAccess(
        dataset=_str(item["dataset"], f"{where}.dataset"),
        site=_str(item["site"], f"{where}.site"),
        day=_int(item["day"], f"{where}.day"),
        accesses=_int(item["accesses"], f"{where}.accesses"),
    )


def _user(raw: object, where: str) -> SourceUser:
    item = _fields(raw, where, {"name", "dn", "roles"}, {"name", "dn"})
    try:
        dn = normalize_dn(_str(item["dn"], f"{where}.dn"))
    except InvalidDnError as exc:
        raise SourceFormatError(f"{where}.dn: {exc}") from None
    name = _str(item["name"], f"{where}.name")
    if len(name) > 64 or name != name.strip() or len(dn) > 512:
        raise SourceFormatError(f"{where}: a user name has 1 to 64 characters, a DN at most 512")
    raw_roles = item.get("roles", [])
    if raw_roles is None:
        return SourceUser(name=name, dn=dn, roles=None)
    if not isinstance(raw_roles, list):
        raise SourceFormatError(f"{where}.roles: expected a list of [role, target]")
    roles = set()
    for i, grant in enumerate(raw_roles):
        at = f"{where}.roles[{i}]"
        if not isinstance(grant, list) or len(grant) != 2:
            raise SourceFormatError(f"{at}: expected [role, target]")
        role, target = (_str(v, at).lower() for v in grant)
        if role not in ROLE_NAMES or target not in TARGET_NAMES:
            raise SourceFormatError(
                f"{at}: expected a role of {sorted(ROLE_NAMES)} on a target of "
                f"{sorted(TARGET_NAMES)}, got {grant!r}"
            )
        roles.add((role, target))
    return SourceUser(name=name, dn=dn, roles=tuple(sorted(roles)))


def _demand(raw: object, where: str) -> SourceDemand:
    item = _fields(raw, where, {"dataset", "jobs", "queued"}, {"dataset", "jobs", "queued"})
    return SourceDemand(
        dataset=_str(item["dataset"], f"{where}.dataset"),
        jobs=_int(item["jobs"], f"{where}.jobs"),
        queued=_int(item["queued"], f"{where}.queued"),
    )


def _deletions(raw: object, where: str) -> Deletions:
    item = _fields(raw, where, {"datasets", "blocks", "replicas", "block_replicas"}, set())

    def keys(name: str, width: int) -> tuple[Any, ...]:
        out: list[Any] = []
        for i, value in enumerate(item.get(name, [])):
            at = f"{where}.{name}[{i}]"
            if width == 1:
                out.append(_str(value, at))
                continue
            if not isinstance(value, list) or len(value) != width:
                raise SourceFormatError(f"{at}: expected a list of {width} names")
            out.append(tuple(_str(v, at) for v in value))
        return tuple(out)

    return Deletions(
        datasets=keys("datasets", 1),
        blocks=keys("blocks", 2),
        replicas=keys("replicas", 2),
        block_replicas=keys("block_replicas", 3),
    )
