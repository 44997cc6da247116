"""Access records from files and JSON bodies, with errors that point into the input.

Two formats carry the same fields: ``dataset``, ``site``, ``date``, ``num_accesses`` and,
optionally, ``cpu_hours`` (default 0). ``date`` is a UTC day, ``YYYY-MM-DD``, or epoch seconds
(any time in the day: the record is filed under that day's midnight).

- CSV: a header line naming the columns (in any order; no other column), then one record a
  line; blank lines are skipped. Streamed, so files of any size are read in constant memory.
  Errors read ``FILE:LINE: FIELD: VALUE ...``.
- JSON: a list of objects with those keys, or ``{"records": [...]}``. Errors read
  ``FILE: records[INDEX].FIELD: VALUE ...``.

Every error is an :class:`AccessRecordError` (HTTP 400, code ``bad_request``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from dynamo.store.popularity import AccessRecord, AccessRecordError, day_of

__all__ = [
    "FIELDS",
    "FORMATS",
    "AccessTally",
    "detect_format",
    "parse_date",
    "read_csv",
    "read_json",
    "read_records",
    "record_from_mapping",
    "records_from_json",
]

FIELDS: Final = ("dataset", "site", "date", "num_accesses", "cpu_hours")
REQUIRED: Final = FIELDS[:4]
FORMATS: Final = ("csv", "json")

_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPOCH: Final = re.compile(r"\d{1,12}")
_PROGRESS_BYTES: Final = 1 << 20

BytesProgress = Callable[[int], None]
"""Called with the number of bytes read since the previous call."""


def parse_date(value: object) -> int:
    """The UTC midnight of ``value``: a ``YYYY-MM-DD`` string, or epoch seconds (an int or a
    string of digits). AccessRecordError naming the value otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise AccessRecordError(f"date: {value!r} is before 1970")
        return day_of(value)
    if isinstance(value, str):
        text = value.strip()
        if _EPOCH.fullmatch(text):
            return day_of(int(text))
        if _ISO_DAY.fullmatch(text):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                pass
            else:
                return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    raise AccessRecordError(f"date: {value!r} is not a YYYY-MM-DD day or epoch seconds")


def record_from_mapping(item: Mapping[str, Any]) -> AccessRecord:
    """One record from a JSON object: the keys of :data:`FIELDS`, no other; ``num_accesses``
    an integer, ``cpu_hours`` a number."""
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise AccessRecordError(f"{unknown[0]}: unknown field (fields: {', '.join(FIELDS)})")
    missing = [name for name in REQUIRED if name not in item]
    if missing:
        raise AccessRecordError(f"{missing[0]}: missing")
    return AccessRecord(
        item["dataset"],
        item["site"],
        parse_date(item["date"]),
        item["num_accesses"],
        item.get("cpu_hours", 0.0),
    )


def records_from_json(data: object) -> list[AccessRecord]:
    """The records of decoded JSON: a list of objects or ``{"records": [...]}``. Errors name
    the index: ``records[3].date: ...``."""
    if isinstance(data, dict):
        if set(data) != {"records"}:
            raise AccessRecordError('expected a list of records or {"records": [...]}')
        data = data["records"]
    if not isinstance(data, list):
        raise AccessRecordError('expected a list of records or {"records": [...]}')
    records = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise AccessRecordError(f"records[{index}]: {item!r} is not an object")
        try:
            records.append(record_from_mapping(item))
        except AccessRecordError as exc:
            raise AccessRecordError(f"records[{index}].{exc}") from exc
    return records


def read_json(path: Path) -> list[AccessRecord]:
    """The records of a JSON file (see the module docstring)."""
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise AccessRecordError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise AccessRecordError(f"{path}: not JSON: {exc}") from exc
    try:
        return records_from_json(data)
    except AccessRecordError as exc:
        raise AccessRecordError(f"{path}: {exc}") from exc


def read_csv(path: Path, *, on_bytes: BytesProgress | None = None) -> Iterator[AccessRecord]:
    """The records of a CSV file, streamed (see the module docstring); ``on_bytes`` follows
    the reading (about every MiB, and at the end)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AccessRecordError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.reader(_lines(handle, path, on_bytes))
        columns = _header(next(reader, None), path)
        for row in reader:
            if not row or row == [""]:
                continue
            try:
                yield _csv_record(row, columns)
            except AccessRecordError as exc:
                raise AccessRecordError(f"{path}:{reader.line_num}: {exc}") from exc


def _lines(handle: BinaryIO, path: Path, on_bytes: BytesProgress | None) -> Iterator[str]:
    pending = 0
    for number, raw in enumerate(handle, start=1):
        pending += len(raw)
        if on_bytes is not None and pending >= _PROGRESS_BYTES:
            on_bytes(pending)
            pending = 0
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise AccessRecordError(f"{path}:{number}: not UTF-8 text") from exc
    if on_bytes is not None and pending:
        on_bytes(pending)


def _header(row: list[str] | None, path: Path) -> dict[str, int]:
    if row is None:
        raise AccessRecordError(f"{path}: empty file (expected a header: {','.join(FIELDS)})")
    names = [name.strip() for name in row]
    for name in names:
        if name not in FIELDS:
            raise AccessRecordError(
                f"{path}:1: unknown column {name!r} (columns: {', '.join(FIELDS)})"
            )
    if len(set(names)) != len(names):
        raise AccessRecordError(f"{path}:1: a column is named twice")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise AccessRecordError(f"{path}:1: no {missing[0]!r} column")
    return {name: index for index, name in enumerate(names)}


def _csv_record(row: list[str], columns: Mapping[str, int]) -> AccessRecord:
    if len(row) != len(columns):
        raise AccessRecordError(f"{len(row)} fields, the header has {len(columns)}")
    count = row[columns["num_accesses"]].strip()
    if not (count.isascii() and count.isdigit()):
        raise AccessRecordError(f"num_accesses: {count!r} is not a non-negative integer")
    hours_at = columns.get("cpu_hours")
    hours = 0.0 if hours_at is None else _hours(row[hours_at].strip())
    return AccessRecord(
        row[columns["dataset"]].strip(),
        row[columns["site"]].strip(),
        parse_date(row[columns["date"]]),
        int(count),
        hours,
    )


def _hours(text: str) -> float:
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise AccessRecordError(f"cpu_hours: {text!r} is not a number") from None


def detect_format(path: Path, given: str | None = None) -> str:
    """``given`` if set, else ``json`` or ``csv`` from the file name's suffix."""
    if given is not None:
        if given not in FORMATS:
            raise AccessRecordError(f"unknown format {given!r} (formats: {', '.join(FORMATS)})")
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise AccessRecordError(f"{path}: cannot tell the format from the name; give csv or json")
    return suffix


def read_records(
    path: Path, fmt: str | None = None, *, on_bytes: BytesProgress | None = None
) -> Iterator[AccessRecord]:
    """The records of a CSV or JSON file (format from ``fmt`` or the suffix)."""
    if detect_format(path, fmt) == "csv":
        return read_csv(path, on_bytes=on_bytes)
    records = read_json(path)
    if on_bytes is not None:
        on_bytes(path.stat().st_size)
    return iter(records)


@dataclass(slots=True)
class AccessTally:
    """What a set of records holds: their number, distinct datasets and sites, first and
    last day (None when empty)."""

    records: int = 0
    datasets: set[str] = field(default_factory=set)
    sites: set[str] = field(default_factory=set)
    first_day: int | None = None
    last_day: int | None = None

    def counted(self, records: Iterable[AccessRecord]) -> Iterator[AccessRecord]:
        """``records`` unchanged, counted as they pass."""
        for record in records:
            self.add(record)
            yield record

    def add(self, record: AccessRecord) -> None:
        self.records += 1
        self.datasets.add(record.dataset)
        self.sites.add(record.site)
        day = record.day
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if self.last_day is None or day > self.last_day:
            self.last_day = day

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "datasets": len(self.datasets),
            "sites": len(self.sites),
            "first_day": self.first_day,
            "last_day": self.last_day,
        }
