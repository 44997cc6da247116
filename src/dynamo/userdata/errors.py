"""The errors of user data, each with the stable code the API maps to a status::

DynamoError
├── UserDataNameError (ValueError)          bad_request  400: a name breaks the rules
├── NamespaceForbiddenError (PermissionError) forbidden  403: not the owner, not an admin
├── DuplicateNameError (ValueError)          conflict    409: the name is taken
├── UserDataStateError (ValueError)          conflict    409: not now (complete, deleted...)
├── QuotaExceededError (ValueError)          quota_exceeded 409: the site's quota is full
└── FileCheckError (ValueError)              file_check_failed 409: the file on storage is
                                             absent or not what was confirmed
"""

from __future__ import annotations

from dynamo.errors import DynamoError

__all__ = [
    "DuplicateNameError",
    "FileCheckError",
    "NamespaceForbiddenError",
    "QuotaExceededError",
    "UserDataNameError",
    "UserDataStateError",
]


class UserDataNameError(DynamoError, ValueError):
    """A dataset name or LFN that breaks the naming rules (see :mod:`dynamo.userdata.naming`)."""

    code = "bad_request"


class NamespaceForbiddenError(DynamoError, PermissionError):
    """The caller is neither the owner of the namespace nor an admin."""

    code = "forbidden"


class DuplicateNameError(DynamoError, ValueError):
    """A file or dataset of this name exists already (or is being imported)."""

    code = "conflict"


class UserDataStateError(DynamoError, ValueError):
    """The dataset is not in a state that allows this (complete, being deleted, unknown site)."""

    code = "conflict"


class QuotaExceededError(DynamoError, ValueError):
    """The site's user-data quota has no room for the file (or the site gives none)."""

    code = "quota_exceeded"


class FileCheckError(DynamoError, ValueError):
    """The file on storage is absent, or its size or adler32 differ from the confirmation."""

    code = "file_check_failed"
