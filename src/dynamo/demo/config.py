"""The demo's configuration files: one server TOML, the Dealer JSON, the real CMS policies.

Everything runs on a fast cadence so that a minute shows every component at work: the file
operations manager and updater every few seconds, a consistency pass first, then Detox and
Dealer cycles every 20 seconds. The TOML is the same kind an installation writes (see
``dynamo.server.config``); the user may read and edit it under ``--dir``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from dynamo.demo.grid import PARTITION, GridLayout
from dynamo.demo.users import USER_HEADER

__all__ = ["Cadence", "DemoFiles", "write_config"]

POLICY_FILES = ("Physics.txt", "partitions.txt")


@dataclass(frozen=True, slots=True)
class Cadence:
    """Seconds between the starts of each application (and before its first start)."""

    consistency: tuple[float, float] = (25.0, 4.0)
    detox: tuple[float, float] = (20.0, 12.0)
    dealer: tuple[float, float] = (20.0, 18.0)
    fileops: tuple[float, float] = (3.0, 1.0)
    updater: tuple[float, float] = (3.0, 2.0)


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """The files :func:`write_config` wrote."""

    server: Path
    dealer: Path
    job_feed: Path
    policy: Path


def write_config(
    layout: GridLayout,
    site_roles: dict[str, str],
    *,
    port: int,
    cadence: Cadence | None = None,
) -> DemoFiles:
    """Write the server TOML, the Dealer JSON and copies of the CMS policy files."""
    cadence = cadence or Cadence()
    root = layout.root
    policies = root / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    data = files("dynamo.bench").joinpath("data/dynamo_policies")
    for name in (*POLICY_FILES, "LICENSE", "SOURCE.txt"):
        (policies / name).write_text(data.joinpath(name).read_text())
    job_feed = root / "jobs.json"
    if not job_feed.exists():
        job_feed.write_text("[]\n")
    dealer = root / "dealer.json"
    dealer.write_text(json.dumps(_dealer_config(job_feed.name), indent=2) + "\n")
    server = root / "demo.toml"
    server.write_text(_server_toml(layout, site_roles, port, cadence))
    return DemoFiles(
        server=server, dealer=dealer, job_feed=job_feed, policy=policies / POLICY_FILES[0]
    )


def _dealer_config(job_feed: str) -> dict[str, object]:
    """The CMS Dealer configuration's shape (dynamo-cms ``dealer_config.json``) with the demo's
    job feed, sizes in the shrunk grid's units (a TB is a MB on disk, see dynamo.demo.grid) and
    a reliability floor that keeps the site with a poor transfer record out."""
    return {
        "dealer": {
            "partition_name": PARTITION,
            "group_name": "AnalysisOps",
            "plugins": {
                "requests": {"priority": 1, "module": "requests:CopyRequestsHandler"},
                "popularity": {
                    "priority": 3,
                    "module": "popularity:PopularityHandler",
                    "config": {
                        "source_groups": ["AnalysisOps", "DataOps"],
                        "max_dataset_size": 50.0,
                        "max_replication": 4,
                        "request_to_replica_threshold": 1.75,
                    },
                },
                "balancer": {
                    "priority": 3,
                    "module": "balancer:BalancingHandler",
                    "config": {"max_dataset_size": 75.0, "max_cycle_volume": 35.0},
                },
                "undertaker": {"priority": 2, "module": "undertaker:Undertaker"},
            },
            "target_sites": ["T1_*_Disk", "T2_*"],
            "target_site_occupancy": 0.85,
            "max_site_pending_fraction": 0.25,
            "max_total_cycle_volume": 200,
            "min_reliability": 0.5,
            "reliability_window_days": 1,
            "reliability_min_transfers": 10,
            "job_feed": job_feed,
        }
    }


def _server_toml(
    layout: GridLayout, site_roles: dict[str, str], port: int, cadence: Cadence
) -> str:
    lines = [
        "# The demo server: written by `dynamo demo`, read by `dynamo server --config`.",
        "[server]",
        f'db = "{layout.db_url}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        "allow_http = true   # plain HTTP on loopback: the demo only",
        f'trusted_dn_header = "{USER_HEADER}"   # the demo driver is the front end of its users',
        'trusted_front_ends = ["127.0.0.1"]',
        "",
        "[scheduler]",
        'work_dir = "apps"',
        "poll_seconds = 0.5",
        "retry_seconds = 5",
        "default_timeout = 300",
        "kill_grace = 2",
    ]
    for app in ("consistency", "detox", "dealer", "fileops", "updater"):
        every, delay = getattr(cadence, app)
        lines += [
            "",
            "[[scheduler.interval]]",
            f'app = "{app}"',
            f"every = {every}",
            f"delay = {delay}",
            'mode = "write"',
        ]
    lines += [
        "",
        "[detox]",
        "deletion_per_iteration = 0.02",
        f"[detox.partitions.{PARTITION}]",
        'policy = "policies/Physics.txt"',
        'partitions = "policies/partitions.txt"',
        "",
        "[dealer]",
        'config = "dealer.json"',
        "",
        "[fileops]",
        "batch_size = 200",
        "parallel = 4",
        "poll_interval = 0.5",
        "heartbeat_interval = 2",
        "stale_after = 30",
        "",
        "[consistency]",
        "grace_seconds = 600   # files younger than this are not judged (default: a day)",
        "checksum_sample = 20",
        "",
        "[userdata]",
        "pass_every = 5   # imports and consolidation steps (default: every 5 minutes)",
    ]
    for site, role in sorted(site_roles.items()):
        lines += ["", f"[storage.{site}]", f'url = "file://{layout.site_dir(site).resolve()}"']
        if role == "tape":
            lines += ["tape = true", "recall_delay = 2.0"]
    return "\n".join(lines) + "\n"
