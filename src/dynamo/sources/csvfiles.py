"""A Source reading a directory of CSV files, one per table of the document schema.

Every file is optional and has a header row naming its columns (any order, a subset of those
below; an unknown column is an error). An empty cell is an absent field (its default; for a
block replica's ``size``/``num_files``: complete). A section takes part in the sync when its
main file exists (``sites.csv`` for ``sites``...), exactly as a JSON document's section does.

=============================  =================================================================
file                           columns
=============================  =================================================================
meta.csv                       as_of (one row)
sites.csv                      name, host, storage_type, backend, status
quotas.csv                     site, partition, quota        (needs sites.csv)
groups.csv                     name, olevel
datasets.csv                   name, status, data_type, software_version (``10.2.5[.suffix]``),
                               is_open, last_update
blocks.csv                     dataset, name, size, num_files, is_open, last_update
files.csv                      dataset, block, lfn, size, adler32
replicas.csv                   dataset, site, group
block_replicas.csv             dataset, site, block, size, num_files, is_custodial, last_update
                               (a replica without rows here: every block, complete)
popularity.csv                 dataset, site, day, accesses
users.csv                      name, dn
user_roles.csv                 user, role, target             (needs users.csv)
demand.csv                     dataset, jobs, queued
deleted_datasets.csv           dataset
deleted_blocks.csv             dataset, block
deleted_replicas.csv           dataset, site
deleted_block_replicas.csv     dataset, block, site
=============================  =================================================================

Booleans are ``true``/``false`` (also 1/0, yes/no), integers decimal. The files are gathered
into one document of the JSON schema and parsed by :func:`~dynamo.sources.schema.parse_document`,
so the rules are the same; a bad cell is a SourceFormatError naming the file, line and column,
a bad record one naming its JSON path (``$.datasets[0].blocks[1].size``).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

from dynamo.sources.document import DocumentSource
from dynamo.sources.records import Snapshot
from dynamo.sources.schema import SCHEMA_VERSION, SourceError, SourceFormatError, parse_document

__all__ = ["CSV_COLUMNS", "CsvSource"]

CSV_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "meta": ("as_of",),
    "sites": ("name", "host", "storage_type", "backend", "status"),
    "quotas": ("site", "partition", "quota"),
    "groups": ("name", "olevel"),
    "datasets": ("name", "status", "data_type", "software_version", "is_open", "last_update"),
    "blocks": ("dataset", "name", "size", "num_files", "is_open", "last_update"),
    "files": ("dataset", "block", "lfn", "size", "adler32"),
    "replicas": ("dataset", "site", "group"),
    "block_replicas": (
        "dataset",
        "site",
        "block",
        "size",
        "num_files",
        "is_custodial",
        "last_update",
    ),
    "popularity": ("dataset", "site", "day", "accesses"),
    "users": ("name", "dn"),
    "user_roles": ("user", "role", "target"),
    "demand": ("dataset", "jobs", "queued"),
    "deleted_datasets": ("dataset",),
    "deleted_blocks": ("dataset", "block"),
    "deleted_replicas": ("dataset", "site"),
    "deleted_block_replicas": ("dataset", "block", "site"),
}
_INTS: Final = {
    *("as_of", "quota", "size", "num_files", "last_update", "day", "accesses", "jobs", "queued")
}
_BOOLS: Final = {"is_open", "is_custodial"}
_TRUE: Final = {"true", "1", "yes"}
_FALSE: Final = {"false", "0", "no"}
_NEEDS: Final = {
    "quotas": "sites",
    "blocks": "datasets",
    "files": "blocks",
    "block_replicas": "replicas",
    "user_roles": "users",
}

Row = dict[str, Any]


class CsvSource(DocumentSource):
    """A Source over the CSV files of ``directory`` (read once per instance)."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.name = str(directory)

    def _load(self) -> Snapshot:
        tables = {
            name: rows
            for name in CSV_COLUMNS
            if (rows := self._table(name, self.directory / f"{name}.csv")) is not None
        }
        for table, needed in _NEEDS.items():
            if table in tables and needed not in tables:
                raise SourceFormatError(f"{self.directory}: {table}.csv needs {needed}.csv")
        return parse_document(_document(tables))

    def _table(self, name: str, path: Path) -> list[Row] | None:
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                columns = reader.fieldnames or []
                unknown = set(columns) - set(CSV_COLUMNS[name])
                if unknown:
                    raise SourceFormatError(f"{path}: unknown columns {sorted(unknown)}")
                return [
                    _row(row, f"{path} line {reader.line_num}")
                    for row in reader
                    if any(value for value in row.values())
                ]
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(f"cannot read {path}: {exc}") from exc


def _row(raw: dict[str, str | None], where: str) -> Row:
    row: Row = {}
    for column, text in raw.items():
        if column is None:
            raise SourceFormatError(f"{where}: more cells than columns")
        value = (text or "").strip()
        if value:
            row[column] = _cell(column, value, f"{where} column {column}")
    return row


def _cell(column: str, value: str, where: str) -> Any:
    if column in _INTS:
        try:
            return int(value)
        except ValueError:
            raise SourceFormatError(f"{where}: expected an integer, got {value!r}") from None
    if column in _BOOLS:
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise SourceFormatError(f"{where}: expected true or false, got {value!r}")
    if column == "software_version":
        parts = value.split(".", 3)
        try:
            return [int(parts[0]), int(parts[1]), int(parts[2]), "".join(parts[3:])]
        except (IndexError, ValueError):
            raise SourceFormatError(f"{where}: expected MAJOR.MINOR.PATCH[.SUFFIX]") from None
    return value


def _document(tables: dict[str, list[Row]]) -> dict[str, Any]:
    """The JSON document of the tables read (names as in :data:`CSV_COLUMNS`)."""
    doc: dict[str, Any] = {"version": SCHEMA_VERSION}
    for meta in tables.get("meta", [])[-1:]:
        doc.update(meta)
    if "sites" in tables:
        quotas: dict[str, dict[str, int]] = defaultdict(dict)
        for row in tables.get("quotas", []):
            quotas[row.get("site", "")][row.get("partition", "")] = row.get("quota", 0)
        doc["sites"] = [
            row | _some("quotas", quotas.pop(row.get("name", ""), {})) for row in tables["sites"]
        ]
        _leftover(quotas, "quotas.csv", "sites.csv")
    for name in ("groups", "popularity", "demand"):
        if name in tables:
            doc[name] = tables[name]
    if "datasets" in tables:
        doc["datasets"] = _datasets(tables)
    if "replicas" in tables:
        parts: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for row in tables.get("block_replicas", []):
            key = (row.pop("dataset", ""), row.pop("site", ""))
            parts[key].append(row)
        doc["replicas"] = [
            row | _some("blocks", parts.pop((row.get("dataset", ""), row.get("site", "")), []))
            for row in tables["replicas"]
        ]
        _leftover(parts, "block_replicas.csv", "replicas.csv")
    if "users" in tables:
        grants: dict[str, list[list[str]]] = defaultdict(list)
        for row in tables.get("user_roles", []):
            grants[row.get("user", "")].append([row.get("role", ""), row.get("target", "")])
        doc["users"] = [
            row | {"roles": grants.pop(row.get("name", ""), [])} for row in tables["users"]
        ]
        _leftover(grants, "user_roles.csv", "users.csv")
    deleted = {
        kind: [_key(row, CSV_COLUMNS[f"deleted_{kind}"]) for row in tables[f"deleted_{kind}"]]
        for kind in ("datasets", "blocks", "replicas", "block_replicas")
        if f"deleted_{kind}" in tables
    }
    if deleted:
        doc["deleted"] = deleted
    return doc


def _datasets(tables: dict[str, list[Row]]) -> list[Row]:
    files: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in tables.get("files", []):
        files[(row.pop("dataset", ""), row.pop("block", ""))].append(row)
    blocks: dict[str, list[Row]] = defaultdict(list)
    for row in tables.get("blocks", []):
        dataset = row.pop("dataset", "")
        blocks[dataset].append(row | _some("files", files.pop((dataset, row.get("name", "")), [])))
    _leftover(files, "files.csv", "blocks.csv")
    out = [row | _some("blocks", blocks.pop(row.get("name", ""), [])) for row in tables["datasets"]]
    _leftover(blocks, "blocks.csv", "datasets.csv")
    return out


def _some(key: str, items: Any) -> dict[str, Any]:
    return {key: items} if items else {}


def _key(row: Row, columns: tuple[str, ...]) -> str | list[str]:
    values = [str(row.get(column, "")) for column in columns]
    return values[0] if len(values) == 1 else values


def _leftover(unclaimed: dict[Any, Any], child: str, parent: str) -> None:
    if unclaimed:
        first = next(iter(unclaimed))
        raise SourceFormatError(f"{child}: rows of {first!r}, which {parent} does not list")
