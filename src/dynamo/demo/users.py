"""Users of the demo and their analysis jobs: user data injected through the API.

The demo's driver stands in for the TLS front end of a real installation: it sends each
user's DN in the header the demo server trusts from loopback only (``USER_HEADER``). The
admin gives every T2 disk site a quota for user data; alice's jobs at two sites write their
output into one dataset, file by file (ask a location, write the file there, confirm it: the
server checks size and adler32 on the site's storage before registering it); when her jobs are
done she declares the dataset complete and consolidates it at one site, which file operations
carry out. A resumed demo finds her earlier datasets complete, so each run writes a new one
(``alice-ntuples``, ``alice-ntuples2``, ...). Bob's job tries to write into alice's namespace
and is refused (403), as it must be.
"""

from __future__ import annotations

import contextlib
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from dynamo.api.auth import SqlUserDirectory
from dynamo.api.auth.directory import UserExistsError
from dynamo.api.security import Role, Target
from dynamo.demo.watch import Event
from dynamo.store.engine import make_engine

__all__ = ["USERS", "USER_HEADER", "UserJobs", "fresh_dataset", "fresh_label", "register_users"]

USER_HEADER = "X-Demo-Client-DN"
USERS = {
    "demo-admin": ("/DC=org/DC=demo/OU=Admins/CN=demo-admin", Role.ADMIN),
    "alice": ("/DC=org/DC=demo/OU=Users/CN=alice", Role.USER),
    "bob": ("/DC=org/DC=demo/OU=Users/CN=bob", Role.USER),
}
LABEL = "ntuples"
FILES_PER_SITE = 4
QUOTA_BYTES = 20_000_000


def register_users(db_url: str) -> None:
    """The demo's users and their roles on user data (idempotent)."""
    engine = make_engine(db_url)
    try:
        directory = SqlUserDirectory(engine)
        for name, (dn, role) in USERS.items():
            with contextlib.suppress(UserExistsError):  # a resumed demo has them
                directory.add_user(name, dn)
            directory.grant(name, role, Target.USERDATA)
    finally:
        engine.dispose()


@dataclass(slots=True)
class UserJobs:
    """One step per :meth:`tick`, in order (module docstring); events say what happened."""

    base_url: str
    sites: list[str]
    seed: int = 1
    written: dict[str, int] = field(default_factory=dict)
    step: int = 0
    label: str = LABEL
    """The label of alice's dataset of this run, chosen at the first step (:func:`fresh_label`)."""

    @property
    def dataset(self) -> str:
        return _dataset_of(self.label)

    done: bool = False

    def tick(self) -> list[Event]:
        if self.done or len(self.sites) < 2:
            return []
        with httpx.Client(base_url=self.base_url + "/api/v1", timeout=30) as http:
            events = self._step(http)
        self.step += 1
        return events

    def _step(self, http: httpx.Client) -> list[Event]:
        first, second = self.sites[0], self.sites[1]
        if self.step == 0:
            taken = self._call(http, "alice", "GET", "/userdata/datasets?owner=alice", None)
            self.label = fresh_label({str(entry["name"]) for entry in taken})
            for site in self.sites:
                self._call(
                    http, "demo-admin", "PUT", f"/userdata/quotas/{site}", {"quota": QUOTA_BYTES}
                )
            return [Event("userdata", f"user data quotas of {QUOTA_BYTES / 1e6:.0f} MB at "
                                      f"{', '.join(self.sites)}")]  # fmt: skip
        if self.step <= FILES_PER_SITE:
            return [self._inject(http, site, self.step) for site in (first, second)]
        if self.step == FILES_PER_SITE + 1:
            return [self._intruder(http, first)]
        if self.step == FILES_PER_SITE + 2:
            self._call(http, "alice", "POST", "/userdata/complete", {"dataset": self.dataset})
            return [Event("userdata", f"alice: processing of {self.dataset} complete", "bold")]
        body = {"dataset": self.dataset, "site": first}
        self._call(http, "alice", "POST", "/userdata/subscriptions", body)
        self.done = True
        return [Event("userdata", f"alice consolidates {self.dataset} at {first}", "bold")]

    def _inject(self, http: httpx.Client, site: str, number: int) -> Event:
        lfn = f"/store/user/alice/{self.label}/{site}/ntuple_{number:03d}.root"
        data = random.Random(f"{self.seed}:{lfn}").randbytes(20_000 + 997 * number)
        body = {"dataset": self.dataset, "lfn": lfn, "site": site, "size": len(data)}
        where = self._call(http, "alice", "POST", "/userdata/locations", body)
        path = Path(urlsplit(where["pfn"]).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)  # the job's copy to the site's storage
        checksum = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
        done = self._call(http, "alice", "POST", "/userdata/files", body | {"adler32": checksum})
        self.written[site] = self.written.get(site, 0) + 1
        return Event(
            "userdata",
            f"alice's job at {site}: {lfn.rsplit('/', 1)[-1]} registered in block {done['block']}",
            "cyan",
        )

    def _intruder(self, http: httpx.Client, site: str) -> Event:
        lfn = "/store/user/alice/ntuples/not_bobs.root"
        body = {"dataset": self.dataset, "lfn": lfn, "site": site, "size": 100}
        answer = http.post("/userdata/locations", json=body, headers=_as("bob"))
        verdict = "refused" if answer.status_code == 403 else f"answered {answer.status_code}"
        return Event("userdata", f"bob tries to write into alice's namespace: {verdict}", "yellow")

    def _call(
        self, http: httpx.Client, user: str, method: str, path: str, body: dict[str, Any] | None
    ) -> Any:
        answer = http.request(method, path, json=body, headers=_as(user))
        if answer.status_code >= 400:
            raise UserJobError(f"{user}: {method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()


def fresh_dataset(taken: set[str]) -> str:
    """The first of alice's dataset names (``alice-ntuples``, ``alice-ntuples2``, ...) not in
    ``taken``."""
    return _dataset_of(fresh_label(taken))


def fresh_label(taken: set[str]) -> str:
    """The label (``ntuples``, ``ntuples2``, ...) of :func:`fresh_dataset`."""
    number = 1
    while _dataset_of(label := LABEL if number == 1 else f"{LABEL}{number}") in taken:
        number += 1
    return label


def _dataset_of(label: str) -> str:
    return f"/DemoAnalysis/alice-{label}/USER"


def _as(user: str) -> dict[str, str]:
    return {USER_HEADER: USERS[user][0]}


class UserJobError(RuntimeError):
    """A user job's call failed (the demo reports it and stops the user jobs)."""
