"""User data: each user's reserved namespace at every site, filled by their jobs or by imports
of earlier data, organised into per-site blocks, consolidated at one site on request, and
watched by the UserData partition's per-site quotas (see the "User Data Concept").

- :mod:`.naming` -- the namespace and dataset-name rules;
- :mod:`.planning` -- pure planners: registration into blocks, completion, consolidation,
  deletion, quotas;
- :mod:`.health` -- the partition's health (warn, alarm) and the usage per user and site;
- :mod:`.records` -- the user-data tables;
- :mod:`.service` -- the application the API and the CLI drive.
"""

from dynamo.userdata.errors import (
    DuplicateNameError,
    FileCheckError,
    NamespaceForbiddenError,
    QuotaExceededError,
    UserDataNameError,
    UserDataStateError,
)
from dynamo.userdata.health import HealthLevel, PartitionHealth, partition_health, usage
from dynamo.userdata.options import UserDataOptions, userdata_options_from
from dynamo.userdata.service import Caller, ImportFile, PassSummary, UserDataService

__all__ = [
    "Caller",
    "DuplicateNameError",
    "FileCheckError",
    "HealthLevel",
    "ImportFile",
    "NamespaceForbiddenError",
    "PartitionHealth",
    "PassSummary",
    "QuotaExceededError",
    "UserDataNameError",
    "UserDataOptions",
    "UserDataService",
    "UserDataStateError",
    "partition_health",
    "usage",
    "userdata_options_from",
]
