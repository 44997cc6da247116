"""The Dealer configuration (the real CMS files) and the job-queue demand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dynamo.dealer import (
    HALF_LIFE,
    TB,
    DealerConfig,
    GroupReassignerPlugIn,
    JsonJobQueue,
    MemoryJobQueue,
    QueuedJobs,
    SyntheticJobQueue,
    build_plugins,
    load_dealer_config,
    parse_dealer_config,
    parse_job_feed,
    request_weights,
)
from dynamo.errors import ConfigurationError

CMS = Path("/work/shared/data/dynamo-cms/config")
NOW = 1_700_000_000


@pytest.mark.skipif(not CMS.exists(), reason="the CMS configuration is not here")
@pytest.mark.parametrize(
    ("name", "partition", "occupancy", "volume"),
    [
        ("dealer_config.json", "Physics", 0.93, 200),
        ("dealer_relval_config.json", "RelVal", 0.90, 20),
    ],
)
def test_the_real_cms_configurations_parse(
    name: str, partition: str, occupancy: float, volume: int
) -> None:
    config = load_dealer_config(CMS / name)
    assert config.options.partition == partition
    assert config.options.target_occupancy == occupancy
    assert config.options.max_cycle_volume == volume * TB
    assert config.plugins


@pytest.mark.skipif(not CMS.exists(), reason="the CMS configuration is not here")
def test_the_alldisk_configuration_runs_the_group_reassigner() -> None:
    config = load_dealer_config(CMS / "dealer_alldisk_config.json")
    assert config.options.partition == "AllDisk"
    [plugin] = build_plugins(config)
    assert isinstance(plugin, GroupReassignerPlugIn)
    assert "susy" in plugin.from_groups


def test_the_physics_configuration_has_the_cms_plugins_and_limits() -> None:
    if not (CMS / "dealer_config.json").exists():
        pytest.skip("the CMS configuration is not here")
    config = load_dealer_config(CMS / "dealer_config.json")
    kinds = {p.name: (p.kind, p.priority) for p in config.plugins}
    assert kinds == {
        "requests": ("requests", 1),
        "enforcer": ("enforcer", 2),
        "popularity": ("popularity", 3),
        "balancer": ("balancer", 3),
        "undertaker": ("undertaker", 2),
    }
    assert config.options.is_target_name("T2_DE_DESY")
    assert not config.options.is_target_name("T2_US_Caltech")
    assert config.options.max_pending_fraction == 0.03


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "expected a JSON object"),
        ('{"target_site_occupancy": 1.5}', "target_site_occupancy"),
        ('{"plugins": {"x": {"module": "mystery:Thing"}}}', "plug-in x"),
        ('{"plugins": {"requests": {"priority": -1}}}', "priority"),
        ("{", "not JSON"),
        ('{"plugins": {"' + "x" * 33 + '": {"module": "requests:CopyRequestsHandler"}}}', "32"),
    ],
)
def test_configuration_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_dealer_config(text, source="dealer.json")


def test_enforcer_rules_are_found_through_the_enforcer_config(tmp_path: Path) -> None:
    rules = Path(__file__).parents[2] / "fixtures/policies/dynamo-policies/common"
    (tmp_path / "enforcer.json").write_text(
        f'{{"policy": "{rules / "enforcer_rules_physics.json"}"}}'
    )
    config = parse_dealer_config(
        '{"plugins": {"e": {"priority": 2, "module": "enforcer:EnforcerHandler",'
        ' "config": {"enforcer": "enforcer.json"}}}}',
        base_dir=tmp_path,
    )
    [plugin] = build_plugins(config)
    assert plugin.name == "e"


def test_a_queued_job_counts_half_after_four_days() -> None:
    records = [
        QueuedJobs(dataset="/A/B/C", jobs=8, queued=NOW - HALF_LIFE),
        QueuedJobs(dataset="/A/B/C", jobs=2, queued=NOW),
        QueuedJobs(dataset="/D/E/F", jobs=4, queued=NOW - 2 * HALF_LIFE),
    ]
    weights = request_weights(MemoryJobQueue(records).queued_jobs(NOW), NOW)
    assert math.isclose(weights["/A/B/C"], 6.0)
    assert math.isclose(weights["/D/E/F"], 1.0)


def test_the_json_feed_is_read_and_checked(tmp_path: Path) -> None:
    feed = tmp_path / "jobs.json"
    feed.write_text('{"jobs": [{"dataset": "/A/B/C", "jobs": 3, "queued": 1}]}')
    assert JsonJobQueue(feed).queued_jobs(NOW) == [QueuedJobs(dataset="/A/B/C", jobs=3, queued=1)]
    with pytest.raises(ConfigurationError, match="entry 0"):
        parse_job_feed('[{"dataset": "/A/B/C", "jobs": "many", "queued": 1}]')
    with pytest.raises(ConfigurationError, match="cannot read"):
        JsonJobQueue(tmp_path / "missing.json").queued_jobs(NOW)


def test_an_empty_configuration_has_the_defaults() -> None:
    config = parse_dealer_config("{}")
    assert config == DealerConfig(options=config.options, base_dir=config.base_dir)
    assert [p.name for p in build_plugins(config)] == [
        "requests",
        "undertaker",
        "popularity",
        "balancer",
    ]


def test_the_synthetic_queue_is_seeded_and_heavy_tailed() -> None:
    names = [f"/D{i}/B/AOD" for i in range(500)]
    queue = SyntheticJobQueue(names, 200, seed=3)
    jobs = queue.queued_jobs(NOW)
    assert jobs == SyntheticJobQueue(reversed(names), 200, seed=3).queued_jobs(NOW)
    assert len(jobs) == 200
    assert all(NOW - 8 * 86_400 < j.queued <= NOW for j in jobs)
    counts = sorted(j.jobs for j in jobs)
    assert counts[-1] > 5 * counts[len(counts) // 2]
    config = parse_dealer_config('{"synthetic_jobs": 50}')
    assert config.synthetic_jobs == 50
