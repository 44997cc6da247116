"""The errors of the registry, each with the stable code the API maps to a status.

::

    DynamoError
     +-- RegistryInputError (ValueError)     bad input: unknown item/site/group, bad glob... (400)
     +-- ConflictError (RuntimeError)        the record is not in a state allowing this (409)
     +-- NotOwnerError (PermissionError)     the caller may not act on another's record (403)

Unknown request or lock ids raise :class:`dynamo.errors.NotFoundError` (404).
"""

from __future__ import annotations

from dynamo.errors import DynamoError

__all__ = ["ConflictError", "NotOwnerError", "RegistryInputError"]


class RegistryInputError(DynamoError, ValueError):
    """A request or lock that cannot be accepted as given (HTTP 400)."""

    code = "bad_request"


class ConflictError(DynamoError, RuntimeError):
    """The record's state does not allow the change, e.g. cancelling an activated request (409)."""

    code = "conflict"


class NotOwnerError(DynamoError, PermissionError):
    """The caller is neither the owner of the record nor privileged (HTTP 403)."""

    code = "forbidden"
