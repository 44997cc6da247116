"""Enumerations of the domain model. Values are stable: they are stored in the database."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["DataType", "DatasetStatus", "GroupLevel", "SiteStatus", "StorageType"]


class DatasetStatus(IntEnum):
    UNKNOWN = 1
    DELETED = 2
    DEPRECATED = 3
    INVALID = 4
    PRODUCTION = 5
    VALID = 6
    IGNORED = 7


class DataType(IntEnum):
    UNKNOWN = 1
    ALIGN = 2
    CALIB = 3
    COSMIC = 4
    DATA = 5
    LUMI = 6
    MC = 7
    RAW = 8
    TEST = 9
    PRODUCTION = 10


class SiteStatus(IntEnum):
    READY = 1
    WAITROOM = 2
    MORGUE = 3
    UNKNOWN = 4


class StorageType(IntEnum):
    DISK = 1
    MSS = 2
    BUFFER = 3
    UNKNOWN = 4


class GroupLevel(IntEnum):
    """The granularity at which a group owns data."""

    DATASET = 1
    BLOCK = 2
