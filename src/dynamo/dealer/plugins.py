"""Plug-ins built from the configuration (the I/O they need is done by the caller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson

from dynamo.dealer.balancer import BalancerPlugIn
from dynamo.dealer.config import DealerConfig, PlugInSettings
from dynamo.dealer.enforcer import EnforcerPlugIn
from dynamo.dealer.popularity import PopularityPlugIn
from dynamo.dealer.ports import PlugIn
from dynamo.dealer.reassign import GroupReassignerPlugIn
from dynamo.dealer.requests import CopyRequestsPlugIn
from dynamo.dealer.undertaker import UndertakerPlugIn
from dynamo.errors import ConfigurationError
from dynamo.policy import EnforcerRules, parse_enforcer_rules
from dynamo.registry import Request

__all__ = ["DEFAULT_PLUGINS", "build_plugins"]

DEFAULT_PLUGINS = (
    PlugInSettings(name="requests", kind="requests", priority=1),
    PlugInSettings(name="undertaker", kind="undertaker", priority=2),
    PlugInSettings(name="popularity", kind="popularity", priority=3),
    PlugInSettings(name="balancer", kind="balancer", priority=3),
)
"""The plug-ins of a configuration that names none (CMS's, without enforcer rules)."""


def build_plugins(
    config: DealerConfig,
    *,
    requests: Sequence[Request] = (),
    weights: Mapping[str, float] | None = None,
) -> list[PlugIn]:
    """The configured plug-ins (or :data:`DEFAULT_PLUGINS`), with the open copy requests and
    the popularity weights given."""
    built: list[PlugIn] = []
    for settings in config.plugins or DEFAULT_PLUGINS:
        c = settings.config
        if settings.kind == "requests":
            built.append(
                CopyRequestsPlugIn(
                    requests=tuple(requests),
                    name=settings.name,
                    priority=settings.priority,
                    max_size=settings.size("max_size", 200.0),
                    block_request_max=float(c.get("block_request_max", 0.5)),
                )
            )
        elif settings.kind == "popularity":
            built.append(
                PopularityPlugIn(
                    weights=dict(weights or {}),
                    name=settings.name,
                    priority=settings.priority,
                    source_groups=tuple(c.get("source_groups", ["AnalysisOps"])),
                    max_dataset_size=settings.size("max_dataset_size", 50.0),
                    max_replication=int(c.get("max_replication", 10)),
                    request_to_replica_threshold=float(c.get("request_to_replica_threshold", 1.75)),
                )
            )
        elif settings.kind == "balancer":
            reasons = c.get("target_reasons") or {}
            built.append(
                BalancerPlugIn(
                    name=settings.name,
                    priority=settings.priority,
                    max_dataset_size=settings.size("max_dataset_size", 75.0),
                    max_cycle_volume=settings.size("max_cycle_volume", 35.0),
                    max_copies=max([1, *(int(v) for v in reasons.values())]),
                )
            )
        elif settings.kind == "reassigner":
            built.append(
                GroupReassignerPlugIn(
                    from_groups=tuple(c.get("from_groups", [])),
                    name=settings.name,
                    priority=settings.priority,
                )
            )
        elif settings.kind == "undertaker":
            built.append(
                UndertakerPlugIn(
                    name=settings.name,
                    priority=settings.priority,
                    additional_sites=tuple(c.get("additional_sites", [])),
                )
            )
        else:
            built.append(
                EnforcerPlugIn(
                    rule_sets=_rule_sets(settings, config.base_dir),
                    name=settings.name,
                    priority=settings.priority,
                )
            )
    return built


def _rule_sets(settings: PlugInSettings, base: Path) -> list[EnforcerRules]:
    """``rules`` (a path or a list), or ``enforcer``: an enforcer config whose ``policy``
    names the rules file (the dynamo-cms layout)."""
    c = settings.config
    paths: list[Path] = []
    if "rules" in c:
        raw = c["rules"]
        paths = [base / p for p in ([raw] if isinstance(raw, str) else list(raw))]
    elif "enforcer" in c:
        enforcer = base / str(c["enforcer"])
        data = orjson.loads(_read(enforcer, settings.name))
        if not isinstance(data, dict) or not isinstance(data.get("policy"), str):
            raise ConfigurationError(f"{enforcer}: expected an object with a 'policy' path")
        paths = [enforcer.parent / data["policy"]]
    return [parse_enforcer_rules(_read(p, settings.name).decode(), file=str(p)) for p in paths]


def _read(path: Path, plugin: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"dealer plug-in {plugin}: cannot read {path}: {exc}") from exc
