"""What every producer shares: the sources it reads, the factory registry and the load check.

A producer is a :class:`dynamo.policy.AttributeProducer` (``produces`` and ``load``). Producers
are configured by name (``[detox.producers.NAME]`` in the server configuration, or the CLI's
defaults) and built by :func:`build_producers` from a :class:`ProducerSources`: the database
engine (registry tables, popularity records) and the directory relative paths are read from.

:func:`check_policy_producers` is the load-time check: every variable a policy reads that needs
an attribute must have exactly one configured producer of that attribute, else a
:class:`ConfigurationError` says which variable, on which line, and which producer would fill it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dynamo.errors import ConfigurationError
from dynamo.policy import REGISTRY, AttributeProducer, DetoxPolicy
from dynamo.policy.compiler import variables_of

__all__ = [
    "PRODUCERS",
    "ProducerFactory",
    "ProducerSources",
    "build_producers",
    "check_policy_producers",
    "policy_attributes",
    "register_producer",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProducerSources:
    """Where producers read: the store's engine (None: no database) and the config directory."""

    engine: Engine | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def need_engine(self, producer: str) -> Engine:
        if self.engine is None:
            raise ConfigurationError(f"producer {producer!r} reads the database, and none is set")
        return self.engine

    def path(self, value: object, *, producer: str, key: str) -> Path:
        """``value`` as a path relative to ``base_dir``; ConfigurationError if not a string."""
        if not isinstance(value, str) or not value:
            raise ConfigurationError(
                f"producer {producer!r}: {key!r} must be a file path, not {value!r}"
            )
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path


ProducerFactory = Callable[[Mapping[str, Any], ProducerSources], AttributeProducer]
"""Builds a producer from its configuration table and the sources."""

PRODUCERS: dict[str, tuple[frozenset[str], ProducerFactory]] = {}
"""Producer name -> (attributes it produces, factory). Filled by :func:`register_producer`."""


def register_producer(
    name: str, produces: Iterable[str]
) -> Callable[[ProducerFactory], ProducerFactory]:
    """Decorator registering ``factory`` under ``name`` as the producer of ``produces``."""

    def decorate(factory: ProducerFactory) -> ProducerFactory:
        if name in PRODUCERS:
            raise ConfigurationError(f"a producer named {name!r} is already registered")
        PRODUCERS[name] = (frozenset(produces), factory)
        return factory

    return decorate


def build_producers(
    config: Mapping[str, Mapping[str, Any]], sources: ProducerSources
) -> list[AttributeProducer]:
    """The producers named in ``config`` (name -> its table), in the order given."""
    producers = []
    for name, table in config.items():
        if name not in PRODUCERS:
            known = ", ".join(sorted(PRODUCERS))
            raise ConfigurationError(f"unknown attribute producer {name!r} (known: {known})")
        producers.append(PRODUCERS[name][1](table, sources))
    return producers


def policy_attributes(policy: DetoxPolicy) -> dict[str, tuple[str, int]]:
    """Attribute -> (the first variable reading it, its policy line number)."""
    needed: dict[str, tuple[str, int]] = {}
    conditions = [(c, 0) for c in (*policy.on, *policy.when, *policy.until)]
    conditions += [(line.condition, line.number) for line in policy.lines if line.condition]
    names = [(name, number) for condition, number in conditions for name in variables_of(condition)]
    names += [(key.variable, 0) for key in policy.order or ()]
    for name, number in names:
        attribute = REGISTRY[name].attribute
        if attribute is not None and attribute not in needed:
            needed[attribute] = (name, number)
    return needed


def check_policy_producers(
    policy: DetoxPolicy, producers: Iterable[AttributeProducer], *, file: str = "<policy>"
) -> None:
    """ConfigurationError unless each attribute the policy reads has exactly one producer."""
    by_attribute: dict[str, list[AttributeProducer]] = {}
    for producer in producers:
        for attribute in producer.produces:
            by_attribute.setdefault(attribute, []).append(producer)
    for attribute, (variable, number) in policy_attributes(policy).items():
        where = f"{file}:{number}" if number else file
        found = by_attribute.get(attribute, [])
        if len(found) > 1:
            names = ", ".join(type(p).__name__ for p in found)
            raise ConfigurationError(
                f"{where}: attribute {attribute!r} (variable {variable}) has several producers: "
                f"{names}; configure one"
            )
        if not found:
            candidates = [name for name, (made, _) in PRODUCERS.items() if attribute in made]
            hint = (
                f"configure producer {' or '.join(map(repr, candidates))}"
                if candidates
                else "no producer of it exists in this installation"
            )
            raise ConfigurationError(
                f"{where}: the policy uses {variable}, whose attribute {attribute!r} no "
                f"configured producer fills; {hint}"
            )
