"""How consistency checks run: the ``[consistency]`` table of the server's TOML configuration.

Defaults follow the original's commissioning settings (``IgnoreAge`` 1 day, ``MaxMissing`` 100,
``MaxOrphan`` 1000, ``DirectoryList`` under ``/store``, ``UnmergedLogsAge`` 60 days), with
fractional limits added. Per-site tables override the site-level keys::

    [consistency]
    grace_seconds = 86400
    max_missing = 100
    max_missing_fraction = 0.05
    directories = ["/store/mc", "/store/data"]
    ignore = ["/RAW/"]

    [consistency.sites.T2_US_MIT]
    ignore = ["/store/data/Run2016"]
    unmerged = true
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError

__all__ = ["ConsistencyConfig", "UnmergedConfig", "is_under", "load_protected_prefixes"]

DAY = 86_400


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmergedConfig:
    """Cleaning of a production area: files older than ``max_age_seconds`` that no active
    workflow protects (an LFN prefix in ``protected``) are deleted; files under ``logs``
    older than ``logs_max_age_seconds`` too."""

    area: str = "/store/unmerged"
    max_age_seconds: int = 14 * DAY
    logs: str = "/store/unmerged/logs"
    logs_max_age_seconds: int = 60 * DAY
    protected: tuple[str, ...] = ()

    def protection(self) -> frozenset[str]:
        """The protected prefixes as a set of paths, for :func:`is_under`."""
        return frozenset(p.rstrip("/") or "/" for p in self.protected)


def is_under(path: str, prefixes: frozenset[str]) -> bool:
    """True when ``path`` is one of ``prefixes`` or below one (a lookup per ancestor)."""
    while path and path != "/":
        if path in prefixes:
            return True
        path = path.rsplit("/", 1)[0]
    return "/" in prefixes


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyConfig:
    """Settings of a check; see the module docstring. Times in seconds, sizes in bytes."""

    directories: tuple[str, ...] = ("/store",)
    ignore: tuple[str, ...] = ()
    grace_seconds: int = DAY
    max_missing: int = 100
    max_missing_fraction: float = 0.05
    max_orphan: int = 1000
    max_orphan_fraction: float = 0.05
    checksum_sample: int = 20
    delete_orphans: bool = True
    remove_empty_directories: bool = True
    unmerged: UnmergedConfig | None = None
    sites: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_site(self, site: str) -> ConsistencyConfig:
        """These settings with the site's overrides applied."""
        overrides = self.sites.get(site)
        if not overrides:
            return self
        return _build(dict(overrides), f"[consistency.sites.{site}]", base=self)

    def is_ignored(self, path: str) -> bool:
        """True when ``path`` contains one of the ``ignore`` strings (as the original did)."""
        return any(part in path for part in self.ignore)

    @classmethod
    def from_original(cls, settings: Mapping[str, Any]) -> ConsistencyConfig:
        """Settings from the original dynamo-consistency JSON configuration: ``RootPath`` and
        ``DirectoryList``, ``IgnoreDirectories``, ``IgnoreAge`` (days), ``MaxMissing``,
        ``MaxOrphan``, ``DeleteOrphans``; its other keys (listing threads, redirectors, web
        directories) have no meaning here and are ignored."""
        root = str(settings.get("RootPath", "/store")).rstrip("/")
        listed = settings.get("DirectoryList") or [""]
        table: dict[str, Any] = {
            "directories": [f"{root}/{d}".rstrip("/") or "/" for d in listed],
            "ignore": list(settings.get("IgnoreDirectories", [])),
            # the original had absolute limits only
            "max_missing_fraction": 1.0,
            "max_orphan_fraction": 1.0,
        }
        if "IgnoreAge" in settings:
            table["grace_seconds"] = int(float(settings["IgnoreAge"]) * DAY)
        if "MaxMissing" in settings:
            table["max_missing"] = int(settings["MaxMissing"])
        if "MaxOrphan" in settings:
            table["max_orphan"] = int(settings["MaxOrphan"])
        if "DeleteOrphans" in settings:
            table["delete_orphans"] = bool(settings["DeleteOrphans"])
        return _build(table, "dynamo-consistency configuration", base=cls())

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, where: str = "[consistency]"
    ) -> ConsistencyConfig:
        """Settings from a TOML table (ConfigurationError naming the key and value if bad)."""
        return _build(dict(table), where, base=cls())


_SCALARS: dict[str, type[Any]] = {
    "grace_seconds": int,
    "max_missing": int,
    "max_missing_fraction": float,
    "max_orphan": int,
    "max_orphan_fraction": float,
    "checksum_sample": int,
    "delete_orphans": bool,
    "remove_empty_directories": bool,
}


def _build(table: dict[str, Any], where: str, *, base: ConsistencyConfig) -> ConsistencyConfig:
    known = {f.name for f in fields(ConsistencyConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, kind in _SCALARS.items():
        if key in table:
            value: Any = table[key]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigurationError(f"{where}: {key} = {value!r} is not a {kind.__name__}")
            if kind is not bool and value < 0:
                raise ConfigurationError(f"{where}: {key} = {value!r} is negative")
            values[key] = value
    for key in ("directories", "ignore"):
        if key in table:
            values[key] = _strings(table[key], where, key)
    if "unmerged" in table:
        values["unmerged"] = _unmerged(table["unmerged"], where)
    if "sites" in table:
        sites = table["sites"]
        if not isinstance(sites, Mapping):
            raise ConfigurationError(f"{where}: sites must be a table of site tables")
        values["sites"] = {str(k): dict(v) for k, v in sites.items()}
    return replace(base, **values)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{where}: {key} must be a list of strings, not {value!r}")
    return tuple(value)


def _unmerged(value: Any, where: str) -> UnmergedConfig | None:
    if value is False:
        return None
    if value is True:
        return UnmergedConfig()
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: unmerged must be true, false or a table")
    entry = dict(value)
    allowed = {f.name for f in fields(UnmergedConfig)} | {"protected_file"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigurationError(f"{where}: unmerged: unknown keys {', '.join(unknown)}")
    protected = list(_strings(entry.pop("protected", []), where, "unmerged.protected"))
    protected_file = entry.pop("protected_file", None)
    if protected_file is not None:
        protected += load_protected_prefixes(Path(protected_file))
    for key in ("max_age_seconds", "logs_max_age_seconds"):
        if key in entry and (not isinstance(entry[key], int) or entry[key] < 0):
            raise ConfigurationError(f"{where}: unmerged.{key} = {entry[key]!r} is not >= 0")
    return UnmergedConfig(**entry, protected=tuple(protected))


def load_protected_prefixes(path: Path) -> list[str]:
    """The LFN prefixes active workflows protect: a JSON list of strings, as WMCore's
    MSUnmerged dumps them (``protectedLFNsDump.json``)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the protected LFNs: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from exc
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        raise ConfigurationError(f"{path}: expected a JSON list of LFN prefixes")
    return data
