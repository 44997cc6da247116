"""The file-operations configuration: site endpoints, manager and worker options.

In a file of its own, or in the server's configuration file (the tables below sit beside
``[server]``, ``[detox]`` and the others, which are left to their readers).

::

    [fileops]                  # all optional
    batch_size = 1000
    max_subscriptions = 100000 # per cycle
    max_pending_per_site = 100000
    max_pending_per_backend = 500000
    seed = 0
    job_timeout = 172800       # seconds an FTS3 job may run before its unfinished files are
                               # cancelled and retried (0: never)
    parallel = 4               # worker threads
    stale_after = 120          # seconds without heartbeat before a batch is taken over
    heartbeat_interval = 10
    poll_interval = 5

    [storage.SITE]             # see dynamo.fileops.endpoints
    url = "file:///srv/site"
    backend = "fts3"           # this site's batches go to FTS3

    [fts3]                     # only when a site uses it; given to Fts3Backend.connect
    endpoint = "https://fts3.example.org:8446"
    cert = "/tmp/x509up_u1000" # relative paths: to this file
    ca_dir = "/etc/grid-security/certificates"
    max_files_per_job = 1000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError
from dynamo.fileops.endpoints import Endpoints, endpoints_from_table, load_toml
from dynamo.fileops.manager import ManagerOptions

__all__ = ["FileOpsConfig", "WorkerSettings", "fileops_config_from", "load_fileops_config"]

_TABLES = frozenset({"fileops", "storage", "fts3"})
_SERVER_TABLES = frozenset(
    {"server", "scheduler", "catalogs", "detox", "dealer", "consistency", "userdata"}
)
"""Tables of the server's configuration, which may be the same file (they are not read here)."""

_MANAGER_KEYS = {
    "batch_size": 1,
    "max_subscriptions": 1,
    "max_pending_per_site": 1,
    "max_pending_per_backend": 1,
    "seed": 0,
    "job_timeout": 0,
}
_WORKER_KEYS = {"parallel": 1, "stale_after": 1, "heartbeat_interval": 1, "poll_interval": 0}


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSettings:
    """Worker options from the file (the CLI's flags override them)."""

    parallel: int = 4
    stale_after: int = 120
    heartbeat_interval: float = 10.0
    poll_interval: float = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOpsConfig:
    """Everything the manager and the workers read from the file."""

    endpoints: Endpoints = field(default_factory=Endpoints)
    manager: ManagerOptions = field(default_factory=ManagerOptions)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    fts3: Mapping[str, Any] | None = None
    """The ``[fts3]`` table (paths made absolute), or None."""


def load_fileops_config(path: str | Path | None) -> FileOpsConfig:
    """The configuration in ``path`` (None: no sites, default options)."""
    if path is None:
        return FileOpsConfig()
    data = load_toml(path)
    where = str(path)
    unknown = sorted(set(data) - _TABLES - _SERVER_TABLES)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown table [{unknown[0]}] (known: {', '.join(sorted(_TABLES))}, "
            "and the server's)"
        )
    return fileops_config_from(data, where=where, base=Path(path).parent)


def fileops_config_from(data: Mapping[str, Any], *, where: str, base: Path) -> FileOpsConfig:
    """The file-operation tables of a parsed TOML document (the server's, or a file of its
    own); ``where`` names it in errors, relative paths start at ``base``."""
    section = _table(data, "fileops", where)
    known = set(_MANAGER_KEYS) | set(_WORKER_KEYS)
    extra = sorted(set(section) - known)
    if extra:
        raise ConfigurationError(
            f"{where}: fileops.{extra[0]}: unknown key (known: {', '.join(sorted(known))})"
        )
    manager = {
        k: _number(section, k, low, where) for k, low in _MANAGER_KEYS.items() if k in section
    }
    worker = {k: _number(section, k, low, where) for k, low in _WORKER_KEYS.items() if k in section}
    return FileOpsConfig(
        endpoints=endpoints_from_table(_table(data, "storage", where), where=where, base=base),
        manager=ManagerOptions(**manager),
        worker=WorkerSettings(**worker),
        fts3=_fts3(data, where, base),
    )


def _fts3(data: Mapping[str, Any], where: str, base: Path) -> Mapping[str, Any] | None:
    if "fts3" not in data:
        return None
    table = dict(_table(data, "fts3", where))
    if not isinstance(table.get("endpoint"), str) or not table["endpoint"].startswith("https://"):
        raise ConfigurationError(
            f"{where}: fts3.endpoint = {table.get('endpoint')!r}: the FTS3 REST URL (https://...)"
        )
    for key in ("cert", "key", "ca_dir", "ca_file"):
        if key in table:
            table[key] = str(base / str(table[key]))
    return table


def _table(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    found = data.get(name, {})
    if not isinstance(found, Mapping):
        raise ConfigurationError(f"{where}: [{name}] must be a table")
    return found


def _number(section: Mapping[str, Any], key: str, low: int, where: str) -> Any:
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigurationError(f"{where}: fileops.{key} = {value!r}: a number >= {low}")
    return value
