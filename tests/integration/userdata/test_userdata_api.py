"""User data through the API: a job's injection (location, copy, confirmation checked on
storage), the refusals, automatic per-site blocks, completion, quotas and the partition's
health, usage per user and site, and deletion by the owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from userdata_world import (
    ADMIN,
    ALICE,
    API,
    BOB,
    DATASET,
    NOBODY,
    World,
    adler,
    content,
    lfn,
    make_world,
)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path, max_files=2):
        yield made


async def test_a_job_gets_a_pfn_in_its_namespace_and_its_confirmed_file_is_registered(
    world: World,
) -> None:
    located = await world.locate("out_1", "T2_US_MIT")
    assert located.status_code == 200, located.text
    body = located.json()
    assert body["protocol"] == "file"
    assert body["pfn"] == f"file://{world.roots['T2_US_MIT']}{lfn('out_1')}"
    done = await world.inject("out_1", "T2_US_MIT")
    assert done.status_code == 201, done.text
    assert done.json()["block"] == "T2_US_MIT-0001"
    status = await world.status()
    assert (status["owner"], status["state"], status["num_files"]) == ("alice", "open", 1)
    [block] = status["blocks"]
    assert (block["site"], block["state"]) == ("T2_US_MIT", "open")
    assert block["replicas"] == [
        {"site": "T2_US_MIT", "num_files": 1, "size": 2000, "complete": True}
    ]
    files = (await world.client.get(f"{API}/datasets/{DATASET}/files")).json()
    assert files == [
        {
            "lfn": lfn("out_1"),
            "block": "T2_US_MIT-0001",
            "size": 2000,
            "adler32": adler(content("out_1")),
            "sites": ["T2_US_MIT"],
        }
    ]


async def test_blocks_are_per_site_closed_at_the_maximum_and_by_completion(world: World) -> None:
    for name, site in (("a", "T2_US_MIT"), ("b", "T2_DE_DESY"), ("c", "T2_US_MIT")):
        assert (await world.inject(name, site)).status_code == 201
    done = await world.inject("d", "T2_US_MIT")
    assert done.json()["block"] == "T2_US_MIT-0002"
    blocks = {b["name"]: b for b in (await world.status())["blocks"]}
    assert {n: (b["state"], b["num_files"]) for n, b in blocks.items()} == {
        "T2_DE_DESY-0001": ("open", 1),
        "T2_US_MIT-0001": ("closed", 2),
        "T2_US_MIT-0002": ("open", 1),
    }
    assert all([r["site"] for r in b["replicas"]] == [b["site"]] for b in blocks.values())
    completed = await world.client.post(f"{API}/complete", json={"dataset": DATASET}, headers=ALICE)
    assert completed.status_code == 200, completed.text
    assert completed.json()["state"] == "complete"
    assert {b["state"] for b in completed.json()["blocks"]} == {"closed"}
    late = await world.locate("e", "T2_US_MIT")
    assert late.status_code == 409
    assert "complete" in late.json()["error"]["message"]


async def test_another_user_may_not_write_into_the_namespace(world: World) -> None:
    assert (await world.inject("mine", "T2_US_MIT")).status_code == 201
    assert (await world.locate("theirs", "T2_US_MIT", headers=BOB)).status_code == 403
    data = content("theirs")
    path = world.roots["T2_US_MIT"] / lfn("theirs").lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    refused = await world.confirm("theirs", "T2_US_MIT", len(data), adler(data), headers=BOB)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    for action, body in (
        ("complete", {"dataset": DATASET}),
        ("subscriptions", {"dataset": DATASET, "site": "T2_DE_DESY"}),
        ("deletions", {"dataset": DATASET}),
    ):
        assert (
            await world.client.post(f"{API}/{action}", json=body, headers=BOB)
        ).status_code == 403
    assert (await world.locate("x", "T2_US_MIT", headers=NOBODY)).status_code == 403
    assert (await world.locate("x", "T2_US_MIT", headers={})).status_code == 401
    # an admin may act in any namespace
    assert (
        await world.confirm("theirs", "T2_US_MIT", len(data), adler(data), headers=ADMIN)
    ).status_code == 201
    assert (await world.status())["num_files"] == 2


@pytest.mark.parametrize(
    ("lfn_given", "dataset", "status"),
    [
        ("/store/user/alice/skim_v1/../../bob/x.root", DATASET, 400),
        ("/store/user/alice/./x.root", DATASET, 400),
        ("/store/user/alice/skim_v1%2F..%2Fx.root", DATASET, 400),
        ("/store/user/alice/skim_v1%2fx.root", DATASET, 400),
        ("/store/user/alice//x.root", DATASET, 400),
        ("/etc/passwd", DATASET, 400),
        ("store/user/alice/x.root", DATASET, 400),
        ("/store/user/alice", DATASET, 400),
        ("/store/user/alice/a\\b.root", DATASET, 400),
        ("/store/user/alice/x.root", "/SingleMuon/skim_v1/AOD", 400),
        ("/store/user/alice/x.root", "/SingleMuon/alice-skim/USER/x", 400),
        ("/store/user/alice/x.root", "/SingleMuon/alice-skim/USER/../../x", 400),
        # bob's namespace or bob's dataset: alice is forbidden there
        ("/store/user/bob/x.root", DATASET, 403),
        ("/store/user/alice/x.root", "/SingleMuon/bob-skim/USER", 403),
    ],
)
async def test_names_outside_the_rules_are_refused_before_anything_is_written(
    world: World, lfn_given: str, dataset: str, status: int
) -> None:
    body = {"dataset": dataset, "lfn": lfn_given, "site": "T2_US_MIT"}
    located = await world.client.post(f"{API}/locations", json=body, headers=ALICE)
    confirmed = await world.client.post(
        f"{API}/files", json=body | {"size": 1, "adler32": "00000001"}, headers=ALICE
    )
    assert (located.status_code, confirmed.status_code) == (status, status), located.text
    assert not list(world.roots["T2_US_MIT"].rglob("*.root"))
    assert (await world.client.get(f"{API}/datasets")).json() == []


async def test_a_duplicate_name_is_refused(world: World) -> None:
    assert (await world.inject("out_1", "T2_US_MIT")).status_code == 201
    again = await world.locate("out_1", "T2_DE_DESY")
    assert again.status_code == 409
    assert "registered" in again.json()["error"]["message"]
    data = content("out_1")
    refused = await world.confirm("out_1", "T2_US_MIT", len(data), adler(data))
    assert refused.status_code == 409
    assert (await world.status())["num_files"] == 1


async def test_a_confirmation_of_a_missing_or_different_file_registers_nothing(
    world: World,
) -> None:
    missing = await world.confirm("never_copied", "T2_US_MIT", 2000, "0a0b0c0d")
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "file_check_failed"
    assert "is not at T2_US_MIT" in missing.json()["error"]["message"]
    located = await world.locate("corrupt", "T2_US_MIT")
    path = Path(urlsplit(located.json()["pfn"]).path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content("corrupt")
    path.write_bytes(data[:-1] + b"!")
    corrupt = await world.confirm("corrupt", "T2_US_MIT", len(data), adler(data))
    assert corrupt.status_code == 409
    assert f"the confirmation says {adler(data)}" in corrupt.json()["error"]["message"]
    short = await world.confirm("corrupt", "T2_US_MIT", len(data) + 1, adler(data))
    assert "bytes, the confirmation says" in short.json()["error"]["message"]
    assert (await world.client.get(f"{API}/datasets")).json() == []
    assert DATASET not in world.service.inventory.datasets
    # the job copies again, correctly: now it is registered
    path.write_bytes(data)
    assert (await world.confirm("corrupt", "T2_US_MIT", len(data), adler(data))).status_code == 201


async def test_the_owner_deletes_a_dataset(world: World) -> None:
    assert (await world.inject("out_1", "T2_US_MIT")).status_code == 201
    deleted = await world.client.post(f"{API}/deletions", json={"dataset": DATASET}, headers=ALICE)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deletions"] == 1
    assert (await world.status())["state"] == "deleting"
    assert (await world.locate("out_2", "T2_US_MIT")).status_code == 409


async def test_usage_is_given_per_user_and_site(world: World) -> None:
    await world.inject("a", "T2_US_MIT", size=1000)
    await world.inject("b", "T2_DE_DESY", size=3000)
    await world.inject("c", "T2_DE_DESY", size=500)
    usage = (await world.client.get(f"{API}/usage")).json()
    assert usage == [
        {"user": "alice", "site": "T2_DE_DESY", "bytes": 3500, "files": 2},
        {"user": "alice", "site": "T2_US_MIT", "bytes": 1000, "files": 1},
    ]
    assert (await world.client.get(f"{API}/usage", params={"user": "bob"})).json() == []


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path, quota=10_000):
        yield made


async def test_the_partition_warns_at_60_and_alarms_at_75_percent(small: World) -> None:
    health = (await small.client.get(f"{API}/health")).json()
    assert (health["quota"], health["level"]) == (20_000, "ok")
    # a confirmation answers the level of its site's share
    assert (await small.inject("a", "T2_US_MIT", size=5_900)).json()["health"] == "ok"
    assert (await small.inject("b", "T2_DE_DESY", size=7_600)).json()["health"] == "alarm"
    health = (await small.client.get(f"{API}/health")).json()
    # the partition is judged on its unique data: 13,500 of 20,000 bytes
    assert (health["unique_bytes"], health["level"]) == (13_500, "warn")
    assert health["occupancy"] == pytest.approx(0.675)
    assert {s["site"]: (s["used"], s["level"]) for s in health["sites"]} == {
        "T2_DE_DESY": (7_600, "alarm"),
        "T2_US_MIT": (5_900, "ok"),
    }
    assert (await small.inject("c", "T2_US_MIT", size=300)).json()["health"] == "warn"
    assert (await small.client.get(f"{API}/health")).json()["level"] == "warn"
    assert (await small.inject("d", "T2_US_MIT", size=2_000)).json()["health"] == "alarm"
    assert (await small.client.get(f"{API}/health")).json()["level"] == "alarm"
    full = await small.locate("e", "T2_DE_DESY", size=4_000)
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "quota_exceeded"


async def test_only_an_admin_sets_quotas(small: World) -> None:
    refused = await small.client.put(f"{API}/quotas/T2_US_MIT", json={"quota": 1}, headers=ALICE)
    assert refused.status_code == 403
    unknown = await small.client.put(f"{API}/quotas/T9_NOWHERE", json={"quota": 1}, headers=ADMIN)
    assert unknown.status_code == 409


async def test_concurrent_confirmations_make_consistent_blocks_and_one_name_registers_once(
    world: World,
) -> None:
    names = [f"c{i:02d}" for i in range(9)]
    for name in [*names, "twice"]:
        located = await world.locate(name, "T2_US_MIT", size=2000)
        path = Path(urlsplit(located.json()["pfn"]).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(name))
    data = content("twice")
    answers = await asyncio.gather(
        *(world.confirm(n, "T2_US_MIT", 2000, adler(content(n))) for n in names),
        world.confirm("twice", "T2_US_MIT", len(data), adler(data)),
        world.confirm("twice", "T2_US_MIT", len(data), adler(data)),
    )
    codes = [a.status_code for a in answers]
    assert codes[:9] == [201] * 9
    assert sorted(codes[9:]) == [201, 409]  # the same name confirmed twice at once: once
    blocks = {b["name"]: b for b in (await world.status())["blocks"]}
    # 10 files, 2 per block: 5 blocks, all closed but possibly the last
    assert sorted(blocks) == [f"T2_US_MIT-{i:04d}" for i in range(1, 6)]
    assert [b["num_files"] for b in blocks.values()] == [2] * 5
    assert sum(a.json()["block_closed"] for a in answers if a.status_code == 201) == 5
