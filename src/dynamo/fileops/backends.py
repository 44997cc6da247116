"""The backends a manager cycle hands batches to, made from the configuration.

The standalone backend (the workers' queue in the database) always; FTS3 when the
configuration has an ``[fts3]`` table. Used by ``dynamo fileops run`` and the server's
``fileops`` application alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from dynamo.errors import ConfigurationError
from dynamo.fileops.fts3 import Fts3Backend
from dynamo.fileops.ports import FileOpBackend
from dynamo.fileops.standalone import StandaloneBackend

__all__ = ["opened_backends"]


@contextmanager
def opened_backends(
    engine: Engine, fts3: Mapping[str, Any] | None
) -> Iterator[dict[str, FileOpBackend]]:
    """The backends by name, closed on exit (``fts3``: the ``[fts3]`` table or None)."""
    backends: dict[str, FileOpBackend] = {"standalone": StandaloneBackend(engine)}
    remote = _fts3_backend(fts3)
    if remote is not None:
        backends["fts3"] = remote
    try:
        yield backends
    finally:
        if remote is not None:
            remote.close()


def _fts3_backend(table: Mapping[str, Any] | None) -> Fts3Backend | None:
    if table is None:
        return None
    options = dict(table)
    endpoint = options.pop("endpoint")
    try:
        return Fts3Backend.connect(endpoint, **options)
    except TypeError as exc:
        raise ConfigurationError(f"[fts3]: {exc}") from exc
