"""Applications: what the scheduler runs, what they see and what they return.

An :class:`Application` is registered in code by name. The runner calls ``run(ctx)`` in a
forked child (:mod:`dynamo.server.runner`) with an :class:`AppContext`: the frozen inventory
snapshot (the child's private copy-on-write image; mutating it changes nothing in the server),
``now``, the parsed arguments, a logger writing to the run's log and a seeded
:class:`random.Random`. The application returns an :class:`AppResult`: a ChangeSet (committed
by the server only for a write run that ends normally), opaque JSON records for the registry and
history tables, and a small JSON summary.

Arguments are a JSON object. Sequence files give command lines, turned into arguments by
:func:`parse_argv` (``--key value`` -> ``{"key": "value"}``, ``--key a b`` -> a list, ``--flag``
-> ``true``, leading positionals under ``"_"``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgpack

from dynamo.errors import ConfigurationError, DynamoError, NotFoundError
from dynamo.model import ChangeSet, Inventory

__all__ = [
    "AppContext",
    "AppResult",
    "Application",
    "ApplicationNotAuthorizedError",
    "ApplicationRegistry",
    "RunStateError",
    "UnknownApplicationError",
    "parse_argv",
]


class UnknownApplicationError(NotFoundError):
    """No application is registered under the name (HTTP 404)."""


class ApplicationNotAuthorizedError(DynamoError, PermissionError):
    """The caller may not run this application in write mode (HTTP 403)."""

    code = "forbidden"


class RunStateError(DynamoError):
    """The run is not in a state that allows the operation, e.g. killing a finished run."""

    code = "conflict"


@dataclass(frozen=True, slots=True, kw_only=True)
class AppContext:
    """What an application sees. ``inventory`` is a snapshot: changes to it are private."""

    inventory: Inventory
    now: int
    args: Mapping[str, Any]
    log: logging.Logger
    random: random.Random
    run_id: int
    writes: bool

    def arg(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    def int_arg(self, name: str, default: int) -> int:
        """Argument ``name`` as an int (ConfigurationError if it is not one)."""
        value = self.args.get(name, default)
        if isinstance(value, bool):
            raise ConfigurationError(f"argument {name!r} must be an integer, not {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"argument {name!r} must be an integer, not {value!r}"
            ) from exc

    def float_arg(self, name: str, default: float) -> float:
        value = self.args.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"argument {name!r} must be a number, not {value!r}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class AppResult:
    """The outcome of one run. ``records`` and ``summary`` must be JSON-able."""

    changeset: ChangeSet = field(default_factory=ChangeSet)
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_msgpack(self) -> bytes:
        packed: bytes = msgpack.packb(
            {
                "changeset": self.changeset.to_dict(),
                "records": self.records,
                "summary": self.summary,
            },
            use_bin_type=True,
        )
        return packed

    @classmethod
    def from_msgpack(cls, blob: bytes) -> AppResult:
        """Decode :meth:`to_msgpack` output; ChangeSetFormatError/ValueError if malformed."""
        try:
            data = msgpack.unpackb(blob, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise ValueError(f"not an application result: {exc}") from exc
        if not isinstance(data, dict) or set(data) != {"changeset", "records", "summary"}:
            raise ValueError("not an application result: expected changeset, records, summary")
        records, summary = data["records"], data["summary"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("records must be a list of objects")
        if not isinstance(summary, dict):
            raise ValueError("summary must be an object")
        return cls(
            changeset=ChangeSet.from_dict(data["changeset"]), records=records, summary=summary
        )


@runtime_checkable
class Application(Protocol):
    """A planner the scheduler runs: ``writes`` says whether its ChangeSet may be committed."""

    @property
    def name(self) -> str: ...

    @property
    def writes(self) -> bool: ...

    @property
    def description(self) -> str: ...

    def run(self, ctx: AppContext) -> AppResult:
        """Compute the result from ``ctx``; raise to fail the run (nothing is committed)."""
        ...


class ApplicationRegistry:
    """Applications by name, in registration order."""

    def __init__(self, apps: Mapping[str, Application] | None = None) -> None:
        self._apps: dict[str, Application] = dict(apps or {})

    def register(self, app: Application) -> Application:
        """Add ``app``; ConfigurationError if its name is taken."""
        if app.name in self._apps:
            raise ConfigurationError(f"an application named {app.name!r} is already registered")
        self._apps[app.name] = app
        return app

    def get(self, name: str) -> Application:
        """The application ``name``; UnknownApplicationError naming the registered ones."""
        try:
            return self._apps[name]
        except KeyError:
            raise UnknownApplicationError(
                f"no application {name!r} is registered (registered: {', '.join(self._apps)})"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._apps

    def __iter__(self) -> Iterator[Application]:
        return iter(self._apps.values())

    def __len__(self) -> int:
        return len(self._apps)

    @property
    def names(self) -> list[str]:
        return list(self._apps)


def parse_argv(argv: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Arguments from a command line (see the module docstring)."""
    args: dict[str, Any] = {}
    positionals: list[str] = []
    key: str | None = None
    values: list[str] = []

    def flush() -> None:
        if key is not None:
            args[key] = True if not values else values[0] if len(values) == 1 else list(values)

    for token in argv:
        if token.startswith("--") and len(token) > 2:
            flush()
            name, eq, value = token[2:].partition("=")
            key, values = name, ([value] if eq else [])
        elif key is None:
            positionals.append(token)
        else:
            values.append(token)
    flush()
    if positionals:
        args["_"] = positionals
    return args
