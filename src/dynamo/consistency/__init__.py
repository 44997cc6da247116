"""Site consistency: compare a site's storage with the inventory, repair, clean production areas.

:func:`check_site` runs one check (:mod:`.check`); the parts are pure where they can be:
:func:`compare` (listing vs inventory), :func:`decide` (safety rules and actions),
:func:`clean_unmerged` (production areas). Reports: :mod:`.report` (migration 0007).
"""

from dynamo.consistency.check import CheckResult, check_site
from dynamo.consistency.compare import Comparison, compare
from dynamo.consistency.config import ConsistencyConfig, UnmergedConfig, load_protected_prefixes
from dynamo.consistency.decide import Action, Decisions, Finding, Kind, decide
from dynamo.consistency.expected import ExpectedFile, expected_files, in_flight
from dynamo.consistency.report import (
    FileRow,
    RunRow,
    get_run,
    latest_runs,
    list_runs,
    previously_missing,
    record_run,
    run_files,
)
from dynamo.consistency.unmerged import clean_unmerged

__all__ = [
    "Action",
    "CheckResult",
    "Comparison",
    "ConsistencyConfig",
    "Decisions",
    "ExpectedFile",
    "FileRow",
    "Finding",
    "Kind",
    "RunRow",
    "UnmergedConfig",
    "check_site",
    "clean_unmerged",
    "compare",
    "decide",
    "expected_files",
    "get_run",
    "in_flight",
    "latest_runs",
    "list_runs",
    "load_protected_prefixes",
    "previously_missing",
    "record_run",
    "run_files",
]
