"""The exception tree of Dynamo.

Every error Dynamo raises on purpose derives from :class:`DynamoError` and carries a stable
``code`` shared by the REST API (JSON ``{"code": ..., "message": ...}``) and the CLI (exit status
and message). Subclasses also inherit the matching builtin so callers may catch either::

    DynamoError
     +-- InvalidChangeSetError (ValueError)     a ChangeSet that cannot be applied, rejected whole
     +-- ChangeSetFormatError (ValueError)      a serialised ChangeSet that cannot be decoded
     +-- ConfigurationError (ValueError)        bad configuration or command-line input
     +-- StoreError (RuntimeError)              the database failed or disagrees with the inventory
     |    +-- SchemaVersionError                the database schema is not at the code's revision
     |    +-- StoreConflictError                the write contradicts what the database holds (409)
     +-- NotFoundError (LookupError)            a named object does not exist
"""

from __future__ import annotations

__all__ = [
    "ChangeSetFormatError",
    "ConfigurationError",
    "DynamoError",
    "InvalidChangeSetError",
    "NotFoundError",
    "SchemaVersionError",
    "StoreConflictError",
    "StoreError",
]


class DynamoError(Exception):
    """Root of every error Dynamo raises on purpose."""

    code = "dynamo_error"


class InvalidChangeSetError(DynamoError, ValueError):
    """A ChangeSet was rejected whole; ``index`` is the position of the offending operation."""

    code = "invalid_changeset"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        self.index = index
        prefix = f"operation {index}: " if index is not None else ""
        super().__init__(prefix + message)


class ChangeSetFormatError(DynamoError, ValueError):
    """Serialised ChangeSet data that does not decode to a valid ChangeSet."""

    code = "changeset_format"


class ConfigurationError(DynamoError, ValueError):
    """Configuration or command-line input that cannot be used."""

    code = "configuration"


class StoreError(DynamoError, RuntimeError):
    """The database failed, or its content disagrees with what the inventory expects."""

    code = "store"


class SchemaVersionError(StoreError):
    """The database schema is not at the revision this code expects (run the migrations)."""

    code = "schema_version"


class StoreConflictError(StoreError):
    """The write contradicts rows only the database holds (a file already in another block)."""

    code = "conflict"


class NotFoundError(DynamoError, LookupError):
    """A named object (dataset, block, site, ...) does not exist."""

    code = "not_found"
