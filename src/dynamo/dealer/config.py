"""The Dealer configuration: the CMS JSON shape (original-dynamo §3.6), read at the edge.

Accepted: the object itself or wrapped as ``{"dealer": {...}}`` (as in dynamo-cms). Keys:
``partition_name``, ``group_name``, ``plugins {name: {priority, module, config}}``,
``target_sites``, ``target_site_occupancy``, ``max_site_pending_fraction``,
``max_total_cycle_volume`` (TB); ``attrs`` and ``copy_op`` are read and ignored (copies go
through file operations). Additions: ``min_reliability`` (0..1), ``reliability_window_days``
(default 7), ``reliability_min_transfers`` (default 10: fewer finished transfers leave a
site's reliability at 1.0), ``job_feed`` (a JSON job-queue feed file for popularity) and
``synthetic_jobs`` (without a feed: how many datasets an invented job queue asks for, for the
demo; default 0, none). With neither, the demand is what a source sync stored
(``docs/sources.md``, ``demand``; none stored: no demand).

A plug-in is known by its module's class (``requests:CopyRequestsHandler``, ...) or its name;
its ``config`` sizes are TB as in the original. Relative paths are taken from the file's
directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from dynamo.dealer.options import TB, DealerOptions
from dynamo.errors import ConfigurationError

__all__ = [
    "PLUGIN_KINDS",
    "DealerConfig",
    "PlugInSettings",
    "load_dealer_config",
    "parse_dealer_config",
]

PLUGIN_KINDS: Final = {
    "CopyRequestsHandler": "requests",
    "EnforcerHandler": "enforcer",
    "PopularityHandler": "popularity",
    "BalancingHandler": "balancer",
    "Undertaker": "undertaker",
    "GroupReassigner": "reassigner",
}
"""Original plug-in classes and the kind of plug-in each is here."""

_KINDS: Final = frozenset(PLUGIN_KINDS.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class PlugInSettings:
    """One configured plug-in: its kind (requests, enforcer, popularity, balancer,
    undertaker), priority and options as written."""

    name: str
    kind: str
    priority: int
    config: Mapping[str, Any] = field(default_factory=dict)

    def size(self, key: str, default_tb: float) -> int:
        """An option in TB, as bytes."""
        value = self.config.get(key, default_tb)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"dealer plug-in {self.name}: {key} must be TB >= 0")
        return int(value * TB)


@dataclass(frozen=True, slots=True, kw_only=True)
class DealerConfig:
    """A parsed configuration (module docstring)."""

    options: DealerOptions = field(default_factory=DealerOptions)
    plugins: tuple[PlugInSettings, ...] = ()
    base_dir: Path = field(default_factory=Path.cwd)
    job_feed: Path | None = None
    reliability_window: int = 7 * 86_400
    reliability_min_transfers: int = 10
    synthetic_jobs: int = 0


def load_dealer_config(path: Path) -> DealerConfig:
    """Read and parse ``path``; ConfigurationError naming the file."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the Dealer configuration {path}: {exc}") from exc
    return parse_dealer_config(text, source=str(path), base_dir=path.parent)


def parse_dealer_config(
    text: str | bytes, *, source: str = "<config>", base_dir: Path | None = None
) -> DealerConfig:
    """Parse the JSON text of a Dealer configuration (module docstring)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{source}: not JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("dealer"), dict):
        data = data["dealer"]
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: expected a JSON object")
    base = base_dir or Path.cwd()
    try:
        options = DealerOptions(
            partition=_str(data, "partition_name", "Physics"),
            group=_str(data, "group_name", "AnalysisOps"),
            target_sites=tuple(_str_list(data, "target_sites", ["*"])),
            target_occupancy=_fraction(data, "target_site_occupancy", 0.85),
            max_pending_fraction=_fraction(data, "max_site_pending_fraction", 0.1),
            max_cycle_volume=int(_number(data, "max_total_cycle_volume", 200) * TB),
            min_reliability=_fraction(data, "min_reliability", 0.0),
        )
        feed = data.get("job_feed")
        if feed is not None and not isinstance(feed, str):
            raise ValueError("job_feed must be a path")
        return DealerConfig(
            options=options,
            plugins=_plugins(data.get("plugins", {})),
            base_dir=base,
            job_feed=None if feed is None else base / feed,
            reliability_window=int(_number(data, "reliability_window_days", 7) * 86_400),
            reliability_min_transfers=int(_number(data, "reliability_min_transfers", 10)),
            synthetic_jobs=int(_number(data, "synthetic_jobs", 0)),
        )
    except ValueError as exc:
        raise ConfigurationError(f"{source}: {exc}") from exc


def _plugins(raw: object) -> tuple[PlugInSettings, ...]:
    if not isinstance(raw, dict):
        raise ValueError("plugins must be an object")
    found = []
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"plug-in {name} must be an object")
        if not 0 < len(name) <= 32:
            raise ValueError(f"plug-in name {name!r} must be 1 to 32 characters (the history's)")
        module = entry.get("module", "")
        kind = PLUGIN_KINDS.get(str(module).rpartition(":")[2], name)
        if kind not in _KINDS:
            raise ValueError(
                f"plug-in {name} ({module or 'no module'}) is not one of {sorted(_KINDS)}"
            )
        priority = entry.get("priority", 1)
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
            raise ValueError(f"plug-in {name}: priority must be an integer >= 0")
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"plug-in {name}: config must be an object")
        found.append(PlugInSettings(name=name, kind=kind, priority=priority, config=config))
    return tuple(found)


def _str(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _str_list(data: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = data.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return value


def _number(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number >= 0")
    return float(value)


def _fraction(data: Mapping[str, Any], key: str, default: float) -> float:
    value = _number(data, key, default)
    if value > 1:
        raise ValueError(f"{key} must be a fraction between 0 and 1")
    return value
