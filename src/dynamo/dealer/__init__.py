"""Dealer: placement of copies by requests, policy rules, popularity, balancing, evacuation.

- :mod:`.proposals` -- proposals, copies, rejections and their reasons, site facts;
- :mod:`.options` -- the options of a cycle; :mod:`.config` -- the JSON configuration;
- :mod:`.merge` -- the seeded merge of the plug-ins' proposals by priority;
- :mod:`.planner` -- :func:`plan`, pure and seeded; :mod:`.plan` -- its result and ChangeSet;
- :mod:`.ports` -- the plug-in and job-queue ports; :mod:`.jobqueue` -- the JSON feed and
  ``request_weight``;
- plug-ins: :mod:`.requests`, :mod:`.enforcer`, :mod:`.popularity`, :mod:`.balancer`,
  :mod:`.undertaker`, :mod:`.reassign`; :mod:`.plugins` builds them from the configuration;
- :mod:`.facts` -- transfer reliability and Detox's protected fractions from the database;
- :mod:`.history` and :mod:`.queries` -- the cycle history; :mod:`.cycle` -- :func:`run_cycle`.
"""

from dynamo.dealer.balancer import BalancerPlugIn
from dynamo.dealer.config import (
    DealerConfig,
    PlugInSettings,
    load_dealer_config,
    parse_dealer_config,
)
from dynamo.dealer.cycle import CycleResult, apply_request_updates, run_cycle
from dynamo.dealer.enforcer import EnforcerPlugIn
from dynamo.dealer.history import COMMIT_RECORD, abandon_planned, commit_records
from dynamo.dealer.jobqueue import (
    HALF_LIFE,
    JsonJobQueue,
    SqlJobQueue,
    SyntheticJobQueue,
    parse_job_feed,
    request_weights,
)
from dynamo.dealer.merge import merge_proposals
from dynamo.dealer.options import TB, DealerOptions
from dynamo.dealer.plan import DealerPlan, Subscription
from dynamo.dealer.planner import is_target_site, plan
from dynamo.dealer.plugins import build_plugins
from dynamo.dealer.popularity import PopularityPlugIn
from dynamo.dealer.ports import JobQueueSource, MemoryJobQueue, PlugIn, PlugInContext, QueuedJobs
from dynamo.dealer.proposals import Copy, PluginProposals, Proposal, Rejection, SiteStats
from dynamo.dealer.reassign import GroupReassignerPlugIn
from dynamo.dealer.requests import CopyRequestsPlugIn, RequestUpdate, settle
from dynamo.dealer.undertaker import UndertakerPlugIn

__all__ = [
    "COMMIT_RECORD",
    "HALF_LIFE",
    "TB",
    "BalancerPlugIn",
    "Copy",
    "CopyRequestsPlugIn",
    "CycleResult",
    "DealerConfig",
    "DealerOptions",
    "DealerPlan",
    "EnforcerPlugIn",
    "GroupReassignerPlugIn",
    "JobQueueSource",
    "JsonJobQueue",
    "MemoryJobQueue",
    "PlugIn",
    "PlugInContext",
    "PlugInSettings",
    "PluginProposals",
    "PopularityPlugIn",
    "Proposal",
    "QueuedJobs",
    "Rejection",
    "RequestUpdate",
    "SiteStats",
    "SqlJobQueue",
    "Subscription",
    "SyntheticJobQueue",
    "UndertakerPlugIn",
    "abandon_planned",
    "apply_request_updates",
    "build_plugins",
    "commit_records",
    "is_target_site",
    "load_dealer_config",
    "merge_proposals",
    "parse_dealer_config",
    "parse_job_feed",
    "plan",
    "request_weights",
    "run_cycle",
    "settle",
]
