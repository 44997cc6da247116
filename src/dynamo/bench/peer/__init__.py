"""`dynamo bench peer rucio`: Dynamo against Rucio 41.5.1 on the same machine and data.

- :mod:`.scale` -- the synthetic inventory both systems get (rucio-bench.md scale S);
- :mod:`.metrics` -- a compared figure and its advantage (> 1: Dynamo better);
- :mod:`.rucio_env` -- Rucio's venv, memcached, database, config, scripts and REST server;
- :mod:`.dynamo_side` -- Dynamo's side of the four tasks;
- :mod:`.listing` -- the HTTP load generator both servers get;
- :mod:`.runner` -- :func:`run_peer_rucio`, the whole run.

``rucio_scripts/`` holds the Rucio side: plain scripts run by the Rucio venv's python.
"""

from dynamo.bench.peer.metrics import Metric, advantage, report_json
from dynamo.bench.peer.runner import SEMANTICS, run_peer_rucio
from dynamo.bench.peer.scale import PEER_SCALES, PeerInventory, PeerScale, peer_inventory

__all__ = [
    "PEER_SCALES",
    "SEMANTICS",
    "Metric",
    "PeerInventory",
    "PeerScale",
    "advantage",
    "peer_inventory",
    "report_json",
    "run_peer_rucio",
]
