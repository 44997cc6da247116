"""Properties of every plan on random worlds: no site past its target occupancy or pending
limit, the volume cap holds, every proposal is accounted for, and the ChangeSet applies."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_data import GB, grid, proposal, run_plan, sample
from dynamo.dealer import SiteStats
from dynamo.model import SiteStatus, violations


@dataclass(frozen=True)
class World:
    sites: dict[str, int]  # quota in GB
    waitroom: frozenset[str]
    datasets: list[tuple[str, int, list[str]]]  # name, blocks, sites with a copy
    copies: int
    target: float
    pending: float
    cap: int
    seed: int
    reliability: dict[str, float]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    rng = random.Random(draw(st.integers(0, 2**16)))
    sites = {f"T2_S{i}": rng.choice([0, 5, 20, 60]) for i in range(draw(st.integers(1, 5)))}
    names = sorted(sites)
    return World(
        sites=sites,
        waitroom=frozenset(name for name in names if rng.random() < 0.2),
        datasets=[
            (
                f"/D{i}/B/AOD",
                rng.randint(1, 4),
                rng.sample(names, rng.randint(0, min(2, len(names)))),
            )
            for i in range(draw(st.integers(1, 25)))
        ],
        copies=draw(st.integers(1, 3)),
        target=draw(st.sampled_from([0.3, 0.6, 0.85, 1.0])),
        pending=draw(st.sampled_from([0.05, 0.2, 1.0])),
        cap=draw(st.integers(1, 40)) * GB,
        seed=rng.randrange(100),
        reliability={name: rng.choice([0.1, 0.5, 1.0]) for name in names},
    )


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_every_plan_respects_the_limits(world: World) -> None:
    b = grid(world.sites, statuses=dict.fromkeys(world.waitroom, SiteStatus.WAITROOM))
    for name, blocks, at in world.datasets:
        sample(b, name, blocks=blocks, at=("T1_XX_Tape", *at))
    inventory = b.build()
    proposals = [proposal(name) for name, _, _ in world.datasets for _ in range(world.copies)]
    result = run_plan(
        inventory,
        proposals,
        stats={name: SiteStats(reliability=r) for name, r in world.reliability.items()},
        target_occupancy=world.target,
        max_pending_fraction=world.pending,
        max_cycle_volume=world.cap,
        seed=world.seed,
    )
    assert len(result.copies) + len(result.rejections) == len(proposals)
    assert result.volume <= world.cap

    def usage(name: str) -> tuple[int, int]:
        found = next(u for p, u in inventory.sites[name].partitions.items() if p.name == "Physics")
        return found.projected_bytes, found.physical_bytes

    before = {name: usage(name)[0] for name in world.sites}
    inventory.apply(result.changeset())
    assert violations(inventory) == []
    for name, added in result.site_bytes.items():
        assert name not in world.waitroom
        quota = world.sites[name] * GB
        projected, physical = usage(name)
        assert projected - before[name] == added
        assert projected <= world.target * quota
        assert projected - physical <= world.pending * quota
