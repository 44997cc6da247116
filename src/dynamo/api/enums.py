"""Enumerations in the API are spelled by name ("VALID", "DISK"), not by their stored ints."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from dynamo.model import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType

__all__ = [
    "DataTypeName",
    "DatasetStatusName",
    "GroupLevelName",
    "SiteStatusName",
    "StorageTypeName",
]


def _by_name(enum: type[IntEnum]) -> Any:
    def parse(value: object) -> object:
        if isinstance(value, str):
            try:
                return enum[value.upper()]
            except KeyError:
                names = ", ".join(member.name for member in enum)
                raise ValueError(f"{value!r} is not one of {names}") from None
        return value

    return parse


def _named(enum: type[IntEnum]) -> tuple[Any, ...]:
    return (
        BeforeValidator(_by_name(enum)),
        PlainSerializer(lambda member: member.name, return_type=str),
        WithJsonSchema({"type": "string", "enum": [member.name for member in enum]}),
    )


DatasetStatusName = Annotated[DatasetStatus, *_named(DatasetStatus)]
DataTypeName = Annotated[DataType, *_named(DataType)]
SiteStatusName = Annotated[SiteStatus, *_named(SiteStatus)]
StorageTypeName = Annotated[StorageType, *_named(StorageType)]
GroupLevelName = Annotated[GroupLevel, *_named(GroupLevel)]
