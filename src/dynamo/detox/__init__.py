"""Detox: policy-driven deletion of replicas between a site's high and low watermarks.

- :mod:`.plan` -- the plan of a cycle (sites, decision rows, deletions) and the options;
- :mod:`.planner` -- :func:`plan`, the iterative algorithm (original-dynamo §4), incremental;
- :mod:`.image` -- reversible edits of the inventory image the planner works on;
- :mod:`.history` -- writes of the cycle history and the deletion queue;
- :mod:`.cycle` -- :func:`run_cycle`: policy, producers, plan and history, for the app and CLI;
- :mod:`.config` -- the ``[detox]`` configuration and the commit of a run's records.
"""

from dynamo.detox.config import COMMIT_RECORD, DetoxConfig, commit_records
from dynamo.detox.cycle import CycleResult, PolicySource, load_policy, run_cycle
from dynamo.detox.plan import (
    SAFETY_LINE,
    SAFETY_TEXT,
    DecisionRow,
    Deletion,
    DetoxOptions,
    DetoxPlan,
    SiteOutcome,
    Verdict,
)
from dynamo.detox.planner import plan
from dynamo.detox.retention import Retention, prune_history

__all__ = [
    "COMMIT_RECORD",
    "SAFETY_LINE",
    "SAFETY_TEXT",
    "CycleResult",
    "DecisionRow",
    "Deletion",
    "DetoxConfig",
    "DetoxOptions",
    "DetoxPlan",
    "PolicySource",
    "Retention",
    "SiteOutcome",
    "Verdict",
    "commit_records",
    "load_policy",
    "plan",
    "prune_history",
    "run_cycle",
]
