"""The common shape of a ``POST /inject`` body, read straight into an Injection.

Large injections are datasets with blocks of files, and replicas; validating them through a
pydantic model per file costs more than the rest of the request. :func:`fast_injection` reads
the decoded JSON of such a body with plain checks that are strictly *narrower* than the
models': names of printable ASCII (no whitespace), sizes of plain ints, no groups or sites. A
body it does not take whole (``None``) goes through the models as before, so every error keeps
its precise field, index and value; a body it takes gives the same Injection the models would.
"""

from __future__ import annotations

import re
from enum import IntEnum
from itertools import repeat
from operator import itemgetter
from typing import Any, Final, TypeVar

from dynamo.model import DatasetStatus, DataType
from dynamo.server.injection import (
    BlockReplicaSpec,
    BlockSpec,
    DatasetReplicaSpec,
    DatasetSpec,
    FileSpec,
    Injection,
)

__all__ = ["RELEASE_PATTERN", "fast_injection", "release_version"]

E = TypeVar("E", bound=IntEnum)

_TOP: Final = frozenset({"groups", "sites", "datasets", "dataset_replicas"})
_DATASET: Final = frozenset(
    {"name", "status", "data_type", "software_version", "is_open", "blocks"}
)
_BLOCK: Final = frozenset({"name", "is_open", "files"})
_FILE: Final = frozenset({"lfn", "size", "adler32"})
_REPLICA: Final = frozenset({"dataset", "site", "group", "growing", "block_replicas"})
_BLOCK_REPLICA: Final = frozenset({"block", "group", "is_custodial", "present"})
_PRESENT: Final = frozenset({"size", "num_files"})
_HEX: Final = "0123456789abcdef"
_BIG: Final = 2**63
RELEASE_PATTERN: Final = r"[0-9]{1,6}_[0-9]{1,6}_[0-9]{1,6}(_[A-Za-z0-9]+)?"
"""A software release, ``CYCLE_MAJOR_MINOR[_SUFFIX]`` (the API model's pattern, anchored)."""
_RELEASE: Final = re.compile(RELEASE_PATTERN)


class _NotCommonError(Exception):
    """Not the common shape: the models decide."""


def fast_injection(data: Any) -> Injection | None:
    """The Injection of ``data`` (decoded JSON), or None to leave it to the models."""
    try:
        return _injection(data)
    except _NotCommonError:
        return None


def _injection(data: Any) -> Injection:
    _keys(data, _TOP)
    if data.get("groups", []) != [] or data.get("sites", []) != []:
        raise _NotCommonError
    return Injection(
        datasets=tuple(_dataset(d) for d in _list(data.get("datasets", []))),
        dataset_replicas=tuple(_replica(r) for r in _list(data.get("dataset_replicas", []))),
    )


def _dataset(data: Any) -> DatasetSpec:
    _keys(data, _DATASET)
    return DatasetSpec(
        name=_name(data.get("name"), 512, "#"),
        status=_optional(data.get("status"), DatasetStatus),
        data_type=_optional(data.get("data_type"), DataType),
        software_version=_release(data.get("software_version")),
        is_open=_optional_bool(data.get("is_open")),
        blocks=tuple(_block(b) for b in _list(data.get("blocks", []))),
    )


def _block(data: Any) -> BlockSpec:
    _keys(data, _BLOCK)
    is_open = data.get("is_open", False)
    if type(is_open) is not bool:
        raise _NotCommonError
    return BlockSpec(_name(data.get("name"), 128), is_open, _files(data.get("files", [])))


def _files(value: Any) -> tuple[FileSpec, ...]:
    """A block's files, checked column by column (each check one pass in C)."""
    files = _list(value)
    if not files:
        return ()
    if set(map(type, files)) != {dict} or not set().union(*map(dict.keys, files)) <= _FILE:
        raise _NotCommonError
    try:
        lfns = list(map(itemgetter("lfn"), files))
        sizes = list(map(itemgetter("size"), files))
    except KeyError:
        raise _NotCommonError from None
    adlers = list(map(dict.get, files, repeat("adler32"), repeat("")))
    if set(map(type, lfns)) != {str} or set(map(type, sizes)) != {int}:
        raise _NotCommonError
    if set(map(type, adlers)) != {str} or not set(map(len, adlers)) <= {0, 8}:
        raise _NotCommonError
    names = "".join(lfns)
    if (
        not names.isascii()
        or not names.isprintable()
        or " " in names
        or min(map(len, lfns)) == 0
        or max(map(len, lfns)) > 512
        or min(sizes) < 0
        or max(sizes) >= _BIG
        or "".join(adlers).strip(_HEX)
    ):
        raise _NotCommonError
    return tuple(map(FileSpec, lfns, sizes, adlers))


def _replica(data: Any) -> DatasetReplicaSpec:
    _keys(data, _REPLICA)
    growing = data.get("growing", False)
    if type(growing) is not bool:
        raise _NotCommonError
    return DatasetReplicaSpec(
        dataset=_name(data.get("dataset"), 512, "#"),
        site=_label(data.get("site")),
        group=_optional_label(data.get("group")),
        growing=growing,
        block_replicas=tuple(_block_replica(b) for b in _list(data.get("block_replicas", []))),
    )


def _block_replica(data: Any) -> BlockReplicaSpec:
    _keys(data, _BLOCK_REPLICA)
    is_custodial = data.get("is_custodial", False)
    if type(is_custodial) is not bool:
        raise _NotCommonError
    present = data.get("present")
    size = num_files = None
    if present is not None:
        if type(present) is not dict or present.keys() != _PRESENT:
            raise _NotCommonError
        size, num_files = _count(present["size"]), _count(present["num_files"])
    return BlockReplicaSpec(
        _name(data.get("block"), 128),
        _optional_label(data.get("group")),
        is_custodial,
        size,
        num_files,
    )


def _keys(data: Any, allowed: frozenset[str]) -> None:
    if type(data) is not dict or not data.keys() <= allowed:
        raise _NotCommonError


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _NotCommonError
    return value


def _name(value: Any, longest: int, forbidden: str = " ") -> str:
    """A name of printable ASCII without spaces (nor ``forbidden``), 1 to ``longest`` long."""
    if (
        type(value) is not str
        or not 0 < len(value) <= longest
        or not value.isascii()
        or not value.isprintable()
        or " " in value
        or forbidden in value
    ):
        raise _NotCommonError
    return value


def _label(value: Any) -> str:
    """Printable ASCII, 1 to 64 long, neither starting nor ending with a space."""
    if (
        type(value) is not str
        or not 0 < len(value) <= 64
        or not value.isascii()
        or not value.isprintable()
        or value[0] == " "
        or value[-1] == " "
    ):
        raise _NotCommonError
    return value


def _optional_label(value: Any) -> str | None:
    return None if value is None else _label(value)


def _optional_bool(value: Any) -> bool | None:
    if value is not None and type(value) is not bool:
        raise _NotCommonError
    return value


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value < _BIG:
        raise _NotCommonError
    return value


def _optional(value: Any, enum: type[E]) -> E | None:
    """An enumeration given by name, in any case (as the models take it)."""
    if value is None:
        return None
    if type(value) is not str or not value.isascii():
        raise _NotCommonError
    member = enum.__members__.get(value.upper())
    if member is None:
        raise _NotCommonError
    return member


def _release(value: Any) -> tuple[int, int, int, str] | None:
    """``CYCLE_MAJOR_MINOR[_SUFFIX]`` (:data:`RELEASE_PATTERN`, at most 64 characters)."""
    if value is None:
        return None
    if type(value) is not str or len(value) > 64 or _RELEASE.fullmatch(value) is None:
        raise _NotCommonError
    return release_version(value)


def release_version(release: str | None) -> tuple[int, int, int, str] | None:
    """``10_6_4_patch1`` -> (10, 6, 4, "patch1"); the pattern has already been checked."""
    if release is None:
        return None
    cycle, major, minor, *suffix = release.split("_", 3)
    return int(cycle), int(major), int(minor), suffix[0] if suffix else ""
