"""The producers a Detox cycle runs when its configuration names none.

In, and why:

- ``locks`` -- locks are how users and services keep data; a cycle without them would plan
  the deletion of locked replicas.
- ``popularity`` -- the access records are in the store's database, and the standing policies
  rank and dismiss by ``dataset.usage_rank``, ``replica.num_access``, ``dataset.last_access``.
- ``copy_requests`` and ``tape_requests`` -- read from the registry in the same database, cheap
  (open requests only), and what keeps the source of a requested copy from being deleted.
- ``enforcer`` without rules -- protects nothing (and says so at WARNING) but lets a policy
  with ``Protect replica.enforcer_protected`` load; the rules files are the installation's.
- ``protected_sites`` with no sites -- flags nothing, as CMS ran it (``"sites": []``), so that
  ``dataset.on_protected_site`` lines load and stay inert until sites are named.
- ``block_age`` -- costs one pass over the block replicas per cycle (values are computed
  when read), and needs no outside source.

Out, and why:

- ``release`` -- the list of production releases is the experiment's knowledge; there is no
  sensible default list, and no standing policy reads ``dataset.is_latest_production_release``.
- ``dataset.unknown_in_all_dbs`` has no producer here (the original checked CMS's DBS
  instances).
"""

from __future__ import annotations

from typing import Any

__all__ = ["default_producer_config"]


def default_producer_config() -> dict[str, dict[str, Any]]:
    """Producer name -> its configuration table, for :func:`dynamo.producers.build_producers`.

    A new dict on every call: the caller may change it.
    """
    return {
        "locks": {},
        "popularity": {},
        "copy_requests": {},
        "tape_requests": {},
        "enforcer": {},
        "protected_sites": {"sites": []},
        "block_age": {},
    }
