"""End to end: `dynamo bench peer rucio` at scale xs, both systems, the four tasks.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth), memcached (or root and apt-get to install
it) and PyPI to make the Rucio venv. Installing Rucio takes a few minutes, so it is done once
per machine into the cache (``$DYNAMO_RUCIO_PEER_CACHE`` or ``~/.cache/dynamo-rucio-peer``)
and reused; the run itself takes about a minute at xs. Fails when the venv cannot be made
(tests/rucio_support.py), unless DYNAMO_TEST_SKIP_SERVERS=1.
Its own databases (``rucio_test``, ``dynamo_test``) and Rucio home keep it apart from a
benchmark run on the same machine. No wall-clock time is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dynamo.bench.peer import PEER_SCALES, run_peer_rucio
from dynamo.bench.peer.rucio_env import recreate_database
from rucio_support import rucio_python

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def rucio_venv() -> Iterator[None]:
    rucio_python()
    yield
    for name in ("rucio_test", "dynamo_test"):
        recreate_database(name, create=False)


@pytest.mark.usefixtures("rucio_venv")
def test_the_peer_bench_at_xs_compares_the_four_tasks_on_the_same_data() -> None:
    xs = PEER_SCALES["xs"]
    report = run_peer_rucio(xs, tag="test")
    names = [m["name"] for m in report["metrics"]]
    assert names[0] == "registration"
    assert names[-3:] == ["deletion decision", "deletion decision with its record", "placement"]
    assert len(names) == 18  # the 4 listing throughputs also per server CPU second
    assert sum("per server CPU second" in name for name in names) == 4
    for metric in report["metrics"]:
        assert metric["dynamo"] > 0
        assert metric["rucio"] > 0
        assert metric["advantage"] is not None
    raw = report["raw"]
    registered = raw["registration"]
    sample = xs.sample_datasets * xs.files_per_dataset
    assert registered["rucio"]["files"] == registered["dynamo"]["files"] == sample
    assert registered["dynamo"]["all_files"] == xs.files
    bulk = registered["rucio"]["phases"]["rest"]
    assert bulk["datasets"] == xs.datasets - xs.sample_datasets
    assert bulk["rows"]["replicas"] == 2 * bulk["datasets"] * xs.files_per_dataset
    assert registered["dynamo"]["counts"]["blocks"] == xs.datasets
    for kind in ("dataset", "site"):
        for side in ("dynamo", "rucio", "dynamo_2_servers"):
            assert all(run["errors"] == 0 for run in raw["listing"][kind][side].values())
    deletion = raw["deletion"]
    assert deletion["rucio"]["selected_bytes"] >= deletion["rucio"]["needed_bytes"] > 0
    assert deletion["dynamo"]["reached_low_watermark"]
    placement = raw["placement"]
    assert placement["dynamo"]["copies"] == xs.rules
    assert sum(placement["rucio"]["rule_states"].values()) == xs.rules
    assert set(report["semantics"]) == {"registration", "listing", "deletion", "placement"}
