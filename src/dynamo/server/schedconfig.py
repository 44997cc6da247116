"""The ``[scheduler]`` section of the server configuration.

```toml
[scheduler]
enabled = true                 # false: no application can run on this server
work_dir = "var/apps"          # run logs go to WORK_DIR/runs/RUN_ID.log
max_readers = 1                # read-only runs at once (each may copy the image: see docs)
default_timeout = 3600         # seconds; 0 = no limit
kill_grace = 5                 # seconds between SIGTERM and SIGKILL
poll_seconds = 1.0             # how often schedules are looked at
retry_seconds = 60             # delay before a failed '&' or '^' sequence step runs again
sequence_file = "cms.seq"      # optional, relative to the configuration file
sequences = ["delta_update"]   # sequences of the file to run (default: all of them)
titles = { update_sites = "updater" }   # sequence-file title -> registered application

[[scheduler.interval]]
name = "stats"                 # default: the application name
app = "inventory-stats"
every = 600                    # seconds between starts
delay = 0                      # seconds before the first start
mode = "read"                  # or "write" (a write application only)
timeout = 120                  # seconds; default: default_timeout
args = { }
```

Only types and values are checked here; :mod:`dynamo.server.scheduler` checks the names against
the registered applications when it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError

__all__ = ["IntervalEntry", "SchedulerConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalEntry:
    name: str
    app: str
    every: float
    delay: float = 0.0
    writes: bool = False
    timeout: int | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    enabled: bool = True
    work_dir: Path = Path("var/apps")
    max_readers: int = 1
    default_timeout: int = 3600
    kill_grace: float = 5.0
    poll_seconds: float = 1.0
    retry_seconds: float = 60.0
    sequence_file: Path | None = None
    sequences: tuple[str, ...] | None = None
    titles: dict[str, str] = field(default_factory=dict)
    intervals: tuple[IntervalEntry, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: Path, where: str) -> SchedulerConfig:
        """The configuration in ``data`` (a ``[scheduler]`` table); paths relative to ``base``.

        ConfigurationError, prefixed with ``where``, for an unknown key or a wrong type.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where}: [scheduler] must be a table")
        known = {f.name for f in fields(cls)} - {"intervals"} | {"interval"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"{where}: unknown keys in [scheduler]: {', '.join(unknown)}")
        get = _Getter(data, f"{where} [scheduler]")
        sequence_file = get.opt_string("sequence_file")
        sequences = get.opt_list("sequences")
        titles = get.table("titles")
        config = cls(
            enabled=get.boolean("enabled", True),
            work_dir=base / get.string("work_dir", "var/apps"),
            max_readers=get.integer("max_readers", 1, minimum=1),
            default_timeout=get.integer("default_timeout", 3600, minimum=0),
            kill_grace=get.number("kill_grace", 5.0),
            poll_seconds=get.number("poll_seconds", 1.0, positive=True),
            retry_seconds=get.number("retry_seconds", 60.0),
            sequence_file=None if sequence_file is None else base / sequence_file,
            sequences=None if sequences is None else tuple(sequences),
            titles={
                str(k): _as_str(v, f"{where} [scheduler.titles] {k}") for k, v in titles.items()
            },
            intervals=tuple(
                _interval(entry, f"{where} [[scheduler.interval]] #{i + 1}")
                for i, entry in enumerate(get.list_of_tables("interval"))
            ),
        )
        names = [entry.name for entry in config.intervals]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(f"{where}: duplicate interval names: {', '.join(duplicates)}")
        return config


def _interval(data: Mapping[str, Any], where: str) -> IntervalEntry:
    allowed = {"name", "app", "every", "delay", "mode", "timeout", "args"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {', '.join(unknown)}")
    get = _Getter(data, where)
    app = get.string("app", "")
    if not app:
        raise ConfigurationError(f"{where}: 'app' is required")
    mode = get.string("mode", "read")
    if mode not in ("read", "write"):
        raise ConfigurationError(f"{where}: mode must be 'read' or 'write', not {mode!r}")
    timeout = get.integer("timeout", -1, minimum=-1)
    return IntervalEntry(
        name=get.string("name", app),
        app=app,
        every=get.number("every", 0.0, positive=True),
        delay=get.number("delay", 0.0),
        writes=mode == "write",
        timeout=None if timeout < 0 else timeout,
        args=dict(get.table("args")),
    )


def _as_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: expected a string, not {value!r}")
    return value


class _Getter:
    """Typed reads of a TOML table with errors that say where."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _fail(self, key: str, expected: str) -> ConfigurationError:
        return ConfigurationError(f"{self.where}: {key} must be {expected}, not {self.data[key]!r}")

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def string(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def opt_string(self, key: str) -> str | None:
        return None if key not in self.data else self.string(key, "")

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def number(self, key: str, default: float, *, positive: bool = False) -> float:
        value = self.data.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._fail(key, "a number")
        if value < 0 or (positive and value == 0):
            raise self._fail(key, "a positive number" if positive else "a number >= 0")
        return float(value)

    def opt_list(self, key: str) -> list[str] | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings")
        return value

    def table(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping):
            raise self._fail(key, "a table")
        return value

    def list_of_tables(self, key: str) -> list[Mapping[str, Any]]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self._fail(key, "an array of tables ([[scheduler.interval]])")
        return value
