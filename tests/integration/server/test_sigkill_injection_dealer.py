"""The server SIGKILLed at random moments while a user job injects files through the API
(location, copy, confirmation) and the Dealer runs and commits cycles every second (the demo
grid, its Dealer configuration and job feed): after the kills the database is consistent.

- every acknowledged injection is in the inventory exactly once, with its block replica at
  its site; the one in flight at a kill is there whole or not at all;
- no Dealer cycle is left planned; a committed cycle that placed copies has its log entry,
  its transfer subscriptions and its replicas; a cycle that did not commit subscribed nothing;
- the inventory the restarted server loads equals the tables, and it serves (and injects)
  again.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cycle_checks import assert_dealer_consistent
from demo_server import kill, start_server, wait_for, wait_ready
from sqlalchemy import Engine, func, select

from contract.storage.storage_servers import free_port
from dynamo.demo.config import Cadence, write_config
from dynamo.demo.grid import GridLayout, build_grid
from dynamo.demo.jobs import HOT_TICKS, SyntheticJobs
from dynamo.demo.users import USER_HEADER, USERS, register_users
from dynamo.store.engine import make_engine
from dynamo.store.schema import (
    block_replicas,
    blocks,
    dataset_replicas,
    datasets,
    files,
    sites,
)
from dynamo.store.schema.applications import app_runs

NEVER = (1e6, 1e6)
KILLS = 3
DATASET = "/FaultInjection/alice-sigkill/USER"
ALICE = {USER_HEADER: USERS["alice"][0]}
ADMIN = {USER_HEADER: USERS["demo-admin"][0]}


@dataclass
class Injector:
    """alice's job: injects file after file until the server stops answering."""

    base: str
    sites: list[str]
    prefix: str
    acked: list[tuple[str, str]] = field(default_factory=list)
    in_flight: list[tuple[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(base_url=self.base + "/api/v1", timeout=10) as http:
            number = 0
            while True:
                site = self.sites[number % len(self.sites)]
                lfn = f"/store/user/alice/sigkill/{self.prefix}/f{number:05d}.root"
                data = random.Random(lfn).randbytes(3000 + number)
                body = {"dataset": DATASET, "lfn": lfn, "site": site, "size": len(data)}
                try:
                    where = http.post("/userdata/locations", json=body, headers=ALICE)
                    if not where.is_success:
                        self.refused.append(f"location {where.status_code} {where.text[:200]}")
                        return
                    path = Path(urlsplit(where.json()["pfn"]).path)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    checksum = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
                    self.in_flight.append((lfn, site))
                    done = http.post(
                        "/userdata/files", json=body | {"adler32": checksum}, headers=ALICE
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if not done.is_success:
                    self.refused.append(f"confirmation {done.status_code} {done.text[:200]}")
                    return
                self.in_flight.pop()
                self.acked.append((lfn, site))
                number += 1


def test_sigkill_during_injections_and_dealer_commits_leaves_a_consistent_database(
    tmp_path: Path,
) -> None:
    layout = GridLayout(tmp_path / "grid")
    grid = build_grid(layout, seed=7, with_files=False)
    port = free_port()
    busy = Cadence(consistency=NEVER, detox=NEVER, dealer=(1.0, 0.5), fileops=NEVER, updater=NEVER)
    files_ = write_config(layout, grid.sites, port=port, cadence=busy)
    register_users(layout.db_url)
    engine = make_engine(layout.db_url)
    jobs = SyntheticJobs(engine, files_.job_feed)
    user_sites = sorted(site for site, role in grid.sites.items() if role == "disk")[:2]
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(5)
    log = tmp_path / "server.log"
    injectors: list[Injector] = []
    try:
        for round_ in range(KILLS):
            for _ in range(HOT_TICKS):  # the next hot datasets: Dealer finds copies to place
                jobs.tick(int(time.time()))
            server = start_server(files_.server, log)
            try:
                wait_ready(port)
                if round_ == 0:
                    for site in user_sites:
                        answer = httpx.put(
                            f"{base}/api/v1/userdata/quotas/{site}",
                            json={"quota": 10**9},
                            headers=ADMIN,
                        )
                        assert answer.status_code == 200, answer.text
                injector = Injector(base, user_sites, f"r{round_}")
                injectors.append(injector)
                thread = threading.Thread(target=injector.run, daemon=True)
                thread.start()
                seen = _runs(engine, "dealer")
                wait_for(lambda s=seen: _runs(engine, "dealer") > s, "a Dealer run to start")
                time.sleep(rng.uniform(0.0, 2.5))
            finally:
                kill(server)
            thread.join(30)
            assert not thread.is_alive()
            assert injector.refused == [], injector.refused
        quiet = Cadence(consistency=NEVER, detox=NEVER, dealer=NEVER, fileops=NEVER, updater=NEVER)
        write_config(layout, grid.sites, port=port, cadence=quiet)
        server = start_server(files_.server, log)  # abandons what was left planned
        try:
            wait_ready(port)
            status = httpx.get(f"{base}/api/v1/status", timeout=5).json()
            assert status["counts"] == status["counts"] | _table_counts(engine)
            last = Injector(base, user_sites[:1], "after")
            stopper = threading.Timer(1.0, lambda: kill(server))
            stopper.start()
            last.run()  # injects until the timer kills the server: it serves writes again
            stopper.join()
            assert last.acked
            injectors.append(last)
        finally:
            if server.poll() is None:
                kill(server)
        _assert_injections(engine, injectors)
        assert_dealer_consistent(engine)
    finally:
        engine.dispose()


def _runs(engine: Engine, app: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(app_runs).where(app_runs.c.app == app)
            ).scalar_one()
        )


def _table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in (
                ("datasets", datasets),
                ("blocks", blocks),
                ("dataset_replicas", dataset_replicas),
                ("block_replicas", block_replicas),
            )
        }


def _assert_injections(engine: Engine, injectors: list[Injector]) -> None:
    with engine.connect() as conn:
        where = {
            (lfn, site)
            for lfn, site in conn.execute(
                select(files.c.lfn, sites.c.name)
                .select_from(files)
                .join(block_replicas, block_replicas.c.block_id == files.c.block_id)
                .join(sites, sites.c.id == block_replicas.c.site_id)
                .where(files.c.lfn.like("/store/user/alice/sigkill/%"))
            )
        }
        registered = conn.execute(
            select(files.c.lfn, func.count())
            .where(files.c.lfn.like("/store/user/alice/sigkill/%"))
            .group_by(files.c.lfn)
        ).all()
    assert all(count == 1 for _, count in registered)
    names = {lfn for lfn, _ in registered}
    acked = [pair for injector in injectors for pair in injector.acked]
    assert len(acked) > 10, "too few injections to say anything"
    for lfn, site in acked:
        assert (lfn, site) in where, f"{lfn} at {site}: acknowledged but not in the inventory"
    maybe = {pair for injector in injectors for pair in injector.in_flight}
    for lfn, site in maybe:  # in flight at a kill: whole or absent
        assert lfn not in names or (lfn, site) in where
    assert names <= {lfn for lfn, _ in acked} | {lfn for lfn, _ in maybe}
